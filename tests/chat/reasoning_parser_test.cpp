#include "chat/reasoning_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

using namespace sputnik;

namespace {

// Feeds `pieces` one by one and concatenates the deltas (plus finish()).
ReasoningDelta stream(ReasoningStyle style, const std::vector<std::string>& pieces, bool* in_reasoning_after_first = nullptr) {
  ReasoningParser p(style);
  ReasoningDelta all;
  for (size_t i = 0; i < pieces.size(); ++i) {
    ReasoningDelta d = p.feed(pieces[i]);
    all.reasoning += d.reasoning;
    all.content += d.content;
    if (i == 0 && in_reasoning_after_first) *in_reasoning_after_first = p.in_reasoning();
  }
  ReasoningDelta d = p.finish();
  all.reasoning += d.reasoning;
  all.content += d.content;
  return all;
}

// Every way of cutting `text` into two pieces, and byte-by-byte, must give the one-shot result.
void expect_split_invariant(const std::string& text, ReasoningStyle style) {
  ReasoningDelta whole = ReasoningParser::parse(text, style);
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    ReasoningDelta d = stream(style, {text.substr(0, cut), text.substr(cut)});
    EXPECT_EQ(d.reasoning, whole.reasoning) << "cut at " << cut << " of " << text;
    EXPECT_EQ(d.content, whole.content) << "cut at " << cut << " of " << text;
  }
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  ReasoningDelta d = stream(style, bytes);
  EXPECT_EQ(d.reasoning, whole.reasoning) << text;
  EXPECT_EQ(d.content, whole.content) << text;
}

}  // namespace

TEST(ReasoningParser, R1OutputStartsInsideThinking) {
  ReasoningDelta d = ReasoningParser::parse("Okay, 2+2 is 4.\n</think>\n\nThe answer is 4.", ReasoningStyle::PromptOpened);
  EXPECT_EQ(d.reasoning, "Okay, 2+2 is 4.");
  EXPECT_EQ(d.content, "The answer is 4.");
}

TEST(ReasoningParser, R1ModelRepeatingTheOpenTagIsDropped) {
  ReasoningDelta d = ReasoningParser::parse("<think>\nhmm\n</think>\n\nyes", ReasoningStyle::PromptOpened);
  EXPECT_EQ(d.reasoning, "hmm");
  EXPECT_EQ(d.content, "yes");
}

TEST(ReasoningParser, QwenStyleModelOpensThinking) {
  ReasoningDelta d = ReasoningParser::parse("<think>\nLet me think.\n\nStep 2.\n</think>\n\nDone.", ReasoningStyle::ModelOpens);
  EXPECT_EQ(d.reasoning, "Let me think.\n\nStep 2.");
  EXPECT_EQ(d.content, "Done.");
}

TEST(ReasoningParser, ModelOpensButAnswersDirectly) {
  ReasoningDelta d = ReasoningParser::parse("<b>Hi</b> there", ReasoningStyle::ModelOpens);
  EXPECT_EQ(d.reasoning, "");
  EXPECT_EQ(d.content, "<b>Hi</b> there");
  // A later <think> is just text once the answer has started.
  d = ReasoningParser::parse("Sure. <think>x</think>", ReasoningStyle::ModelOpens);
  EXPECT_EQ(d.content, "Sure. <think>x</think>");
}

TEST(ReasoningParser, NonThinkingModelIsAllContent) {
  ReasoningDelta d = ReasoningParser::parse("\n<think>not parsed</think>\nplain", ReasoningStyle::None);
  EXPECT_EQ(d.reasoning, "");
  EXPECT_EQ(d.content, "\n<think>not parsed</think>\nplain");
}

TEST(ReasoningParser, UnterminatedThinkingAtMaxTokensStaysReasoning) {
  bool inside = false;
  ReasoningDelta d = stream(ReasoningStyle::PromptOpened, {"still thinking", " about it\n", "</thi"}, &inside);
  EXPECT_TRUE(inside);
  EXPECT_EQ(d.reasoning, "still thinking about it\n</thi");
  EXPECT_EQ(d.content, "");
  d = ReasoningParser::parse("<think>\nabc\n\n", ReasoningStyle::ModelOpens);
  EXPECT_EQ(d.reasoning, "abc");
  EXPECT_EQ(d.content, "");
}

TEST(ReasoningParser, CloseTagSplitAcrossPiecesIsHeldBack) {
  ReasoningParser p(ReasoningStyle::PromptOpened);
  ReasoningDelta d1 = p.feed("reason</");
  EXPECT_EQ(d1.reasoning, "reason");  // "</" might start </think>: not shown yet
  EXPECT_EQ(d1.content, "");
  ReasoningDelta d2 = p.feed("thi");
  EXPECT_TRUE(d2.empty());
  EXPECT_TRUE(p.in_reasoning());
  ReasoningDelta d3 = p.feed("nk>\n\nans");
  EXPECT_EQ(d3.reasoning, "");
  EXPECT_EQ(d3.content, "ans");
  EXPECT_FALSE(p.in_reasoning());
  EXPECT_TRUE(p.reasoning_closed());
  // A "</" that turns out not to be the tag is released as reasoning.
  ReasoningParser q(ReasoningStyle::PromptOpened);
  EXPECT_EQ(q.feed("a </").reasoning, "a ");
  EXPECT_EQ(q.feed("b> c").reasoning, "</b> c");
}

TEST(ReasoningParser, OpenTagSplitAcrossPieces) {
  ReasoningParser p(ReasoningStyle::ModelOpens);
  EXPECT_TRUE(p.feed("\n<th").empty());
  EXPECT_TRUE(p.feed("ink>\n").empty());
  EXPECT_TRUE(p.in_reasoning());
  ReasoningDelta d = p.feed("idea</think>answer");
  EXPECT_EQ(d.reasoning, "idea");
  EXPECT_EQ(d.content, "answer");
}

TEST(ReasoningParser, StreamingEqualsOneShotAtEverySplit) {
  const std::vector<std::pair<std::string, ReasoningStyle>> cases = {
      {"Okay.\n\nMore.\n</think>\n\nAnswer with </think> inside", ReasoningStyle::PromptOpened},
      {"\n\n<think>\n\nA\n</th</think>\n\n\nB\n", ReasoningStyle::ModelOpens},
      {"<thinking is not the tag", ReasoningStyle::ModelOpens},
      {"</think>only content", ReasoningStyle::PromptOpened},
      {"中文推理 🤔\n</think>\n答案", ReasoningStyle::PromptOpened},
      {"no tags at all", ReasoningStyle::None},
      {"<think></think>", ReasoningStyle::ModelOpens},
      {"x\n\n\n", ReasoningStyle::PromptOpened},
  };
  for (const auto& [text, style] : cases) expect_split_invariant(text, style);
}

TEST(ReasoningParser, RandomPiecesMatchOneShot) {
  std::mt19937 rng(7);
  const std::string alphabet[] = {"<think>", "</think>", "<", "</", "think", ">", "\n", " ", "a", "é", "t"};
  for (int iter = 0; iter < 300; ++iter) {
    std::string text;
    int n = int(rng() % 20);
    for (int i = 0; i < n; ++i) text += alphabet[rng() % std::size(alphabet)];
    for (auto style : {ReasoningStyle::PromptOpened, ReasoningStyle::ModelOpens, ReasoningStyle::None}) {
      ReasoningDelta whole = ReasoningParser::parse(text, style);
      std::vector<std::string> pieces;
      for (size_t i = 0; i < text.size();) {
        size_t len = 1 + rng() % 4;
        pieces.push_back(text.substr(i, len));
        i += len;
      }
      ReasoningDelta d = stream(style, pieces);
      ASSERT_EQ(d.reasoning, whole.reasoning) << text;
      ASSERT_EQ(d.content, whole.content) << text;
      // Nothing is lost or invented: both parts come from the text, in order.
      if (style == ReasoningStyle::None) {
        ASSERT_EQ(d.content, text);
      }
    }
  }
}

TEST(ReasoningParser, StyleForPrompt) {
  EXPECT_EQ(ReasoningParser::style_for_prompt("<｜User｜>hi<｜Assistant｜><think>\n"), ReasoningStyle::PromptOpened);
  EXPECT_EQ(ReasoningParser::style_for_prompt("<|im_start|>assistant\n<think>\n\n</think>\n\n"), ReasoningStyle::None);
  EXPECT_EQ(ReasoningParser::style_for_prompt("<|im_start|>assistant\n"), ReasoningStyle::ModelOpens);
}
