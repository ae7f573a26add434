// Thinking/answer split of streamed text, for any way the text is cut into pieces.
#include <gtest/gtest.h>

#include <random>

#include "server/reasoning_split.h"

using sputnik::server::ReasoningSplitter;
using sputnik::server::SplitText;

namespace {

SplitText split_in_pieces(const std::string& text, bool in_thinking, std::mt19937& rng) {
  ReasoningSplitter s(in_thinking);
  SplitText all;
  size_t at = 0;
  while (at < text.size()) {
    const size_t n = 1 + rng() % 5;
    SplitText p = s.feed(std::string_view(text).substr(at, n));
    all.reasoning += p.reasoning;
    all.content += p.content;
    at += n;
  }
  SplitText p = s.flush();
  all.reasoning += p.reasoning;
  all.content += p.content;
  return all;
}

}  // namespace

TEST(ReasoningSplit, PromptOpenedThinkingR1Style) {
  std::mt19937 rng(1);
  for (int i = 0; i < 200; ++i) {
    auto r = split_in_pieces("Let me think.\nOK.\n</think>\n\nThe answer is 4.", true, rng);
    EXPECT_EQ(r.reasoning, "Let me think.\nOK.");
    EXPECT_EQ(r.content, "The answer is 4.");
  }
}

TEST(ReasoningSplit, ModelOpensThinkingQwen3Style) {
  std::mt19937 rng(2);
  for (int i = 0; i < 200; ++i) {
    auto r = split_in_pieces("<think>\nhmm</think>\n\nHi <think> stays", false, rng);
    EXPECT_EQ(r.reasoning, "hmm");
    EXPECT_EQ(r.content, "Hi <think> stays");  // only a leading tag opens thinking
  }
}

TEST(ReasoningSplit, NoThinkingAtAll) {
  std::mt19937 rng(3);
  auto r = split_in_pieces("<thi is not a tag", false, rng);
  EXPECT_EQ(r.reasoning, "");
  EXPECT_EQ(r.content, "<thi is not a tag");
}

TEST(ReasoningSplit, UnterminatedThinkingStaysReasoning) {
  std::mt19937 rng(4);
  auto r = split_in_pieces("still thinking </thi", true, rng);
  EXPECT_EQ(r.reasoning, "still thinking </thi");
  EXPECT_EQ(r.content, "");
}

TEST(ReasoningSplit, StateFollowsTheTags) {
  ReasoningSplitter s(true);
  EXPECT_TRUE(s.in_thinking());
  auto a = s.feed("abc</th");
  EXPECT_EQ(a.reasoning, "abc");
  EXPECT_TRUE(s.in_thinking());
  auto b = s.feed("ink>x");
  EXPECT_FALSE(s.in_thinking());
  EXPECT_TRUE(s.thinking_closed());
  EXPECT_EQ(b.content, "x");
}
