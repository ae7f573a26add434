#include "core/progress_line.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

using sputnik::ProgressLine;

namespace {

// Everything written to `f` so far.
std::string contents(std::FILE* f) {
  std::fflush(f);
  std::string s;
  std::rewind(f);
  for (int c; (c = std::fgetc(f)) != EOF;) s.push_back(char(c));
  return s;
}

}  // namespace

TEST(ProgressLine, LogGetsPlainLinesNoOftenerThanAskedAndAlwaysTheKeptOne) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  ProgressLine line(ProgressLine::kFinalOnly, f, 0);
  EXPECT_FALSE(line.tty());
  EXPECT_FALSE(line.due());
  line.show("10%");
  line.show("50%");
  EXPECT_TRUE(line.due(true));
  line.show("done", true);
  EXPECT_EQ(contents(f), "done\n");
  line.end();  // nothing left open in a log
  EXPECT_EQ(contents(f), "done\n");
  std::fclose(f);

  f = std::tmpfile();
  ProgressLine every(0.0, f, 0);
  every.show("a");
  every.show("b");
  EXPECT_EQ(contents(f), "a\nb\n");
  std::fclose(f);
}

TEST(ProgressLine, TerminalRedrawsInPlaceAtMostTenTimesASecond) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  ProgressLine line(5.0, f, 1);
  EXPECT_TRUE(line.tty());
  EXPECT_TRUE(line.due());  // the first draw at once
  line.show("one");
  EXPECT_FALSE(line.due());  // the next only after 0.1 s
  line.show("two");
  EXPECT_EQ(contents(f), "\rone\x1b[K");
  line.end();  // ends the open line
  EXPECT_EQ(contents(f), "\rone\x1b[K\n");
  line.show("eval", true);
  line.end();  // a kept line is already ended
  EXPECT_EQ(contents(f), "\rone\x1b[K\n\reval\x1b[K\n");
  std::fclose(f);
}

TEST(ProgressLine, BarIsClampedToItsWidth) {
  EXPECT_EQ(ProgressLine::bar(0.5, 4), "[##  ] ");
  EXPECT_EQ(ProgressLine::bar(0.25, 8, '.'), "[##......] ");
  EXPECT_EQ(ProgressLine::bar(2.0, 3), "[###] ");
  EXPECT_EQ(ProgressLine::bar(-1.0, 3), "[   ] ");
  EXPECT_EQ(ProgressLine::bar(std::nan(""), 3), "[   ] ");
}
