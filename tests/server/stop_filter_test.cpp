// Stop strings over streamed text: never half-sent, nothing after the match, any chunking.
#include <gtest/gtest.h>

#include <random>

#include "server/stop_filter.h"

using sputnik::server::StopFilter;

namespace {

// Feeds `text` in pieces cut at `cuts`; returns every piece the filter released.
std::vector<std::string> run(const std::string& text, const std::vector<std::string>& stops,
                             const std::vector<size_t>& cuts, bool* stopped) {
  StopFilter f(stops);
  std::vector<std::string> out;
  size_t at = 0;
  for (size_t c : cuts) {
    out.push_back(f.feed(std::string_view(text).substr(at, c - at)));
    at = c;
  }
  out.push_back(f.feed(std::string_view(text).substr(at)));
  out.push_back(f.flush());
  *stopped = f.stopped();
  return out;
}

}  // namespace

TEST(StopFilter, CutsBeforeTheFirstStopString) {
  bool stopped = false;
  auto out = run("Hello END world", {"END"}, {}, &stopped);
  EXPECT_TRUE(stopped);
  std::string all;
  for (auto& s : out) all += s;
  EXPECT_EQ(all, "Hello ");
}

TEST(StopFilter, HoldsAPartialStopStringUntilDecided) {
  StopFilter f({"</answer>"});
  EXPECT_EQ(f.feed("x </ans"), "x ");  // "</ans" might become the stop string
  EXPECT_EQ(f.feed("wer>"), "");
  EXPECT_TRUE(f.stopped());
  StopFilter g({"</answer>"});
  EXPECT_EQ(g.feed("x </ans"), "x ");
  EXPECT_EQ(g.feed("i"), "</ansi");  // it did not: released whole
  EXPECT_FALSE(g.stopped());
}

TEST(StopFilter, EarliestOfSeveralWins) {
  StopFilter f({"bb", "a"});
  EXPECT_EQ(f.feed("xxbbya"), "xx");
  EXPECT_EQ(f.matched(), "bb");
}

TEST(StopFilter, RandomChunkingNeverLeaksAStopString) {
  std::mt19937 rng(7);
  const std::vector<std::string> stops = {"STOP", "\n\n", "é!"};
  const std::string alphabet[] = {"S", "T", "O", "P", "\n", "é", "!", "x", " "};
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text;
    const int len = int(rng() % 30);
    for (int i = 0; i < len; ++i) text += alphabet[rng() % 9];
    std::vector<size_t> cuts;
    for (size_t i = 1; i < text.size(); ++i)
      if (rng() % 3 == 0 && (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) cuts.push_back(i);
    bool stopped = false;
    auto out = run(text, stops, cuts, &stopped);
    // Expected: text up to the earliest occurrence of any stop string.
    size_t first = std::string::npos;
    for (auto& s : stops) first = std::min(first, text.find(s));
    const std::string expect = text.substr(0, first);
    std::string all;
    for (auto& piece : out) {
      for (auto& s : stops) ASSERT_EQ(piece.find(s), std::string::npos) << "piece " << piece;
      all += piece;
    }
    ASSERT_EQ(all, expect) << "text " << text;
    ASSERT_EQ(stopped, first != std::string::npos);
    // Nothing is sent that a later piece could turn into the start of a stop string: every
    // released prefix is a prefix of the expected output.
    std::string so_far;
    for (auto& piece : out) {
      so_far += piece;
      ASSERT_EQ(expect.compare(0, so_far.size(), so_far), 0);
    }
  }
}
