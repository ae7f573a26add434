// SSE framing: one data line per chunk, blank line after, [DONE] at the end, and no payload
// (newlines, invalid UTF-8) can break the framing.
#include <gtest/gtest.h>

#include "server/sse.h"

using namespace sputnik::server;

TEST(Sse, FramesOneLinePerChunk) {
  nlohmann::json j = {{"text", "line1\nline2\r\n\n data: fake"}};
  const std::string s = sse_data(j);
  ASSERT_TRUE(s.starts_with("data: "));
  ASSERT_TRUE(s.ends_with("\n\n"));
  EXPECT_EQ(s.find('\n'), s.size() - 2);  // the payload itself has no raw newline
  EXPECT_EQ(nlohmann::json::parse(s.substr(6)), j);
  EXPECT_EQ(sse_done(), "data: [DONE]\n\n");
}

TEST(Sse, InvalidUtf8BecomesReplacementCharacter) {
  nlohmann::json j = {{"text", std::string("a\xff" "b")}};
  const std::string s = sse_data(j);
  EXPECT_EQ(nlohmann::json::parse(s.substr(6))["text"], "a\xEF\xBF\xBD" "b");
}
