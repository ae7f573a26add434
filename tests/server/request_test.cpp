// Request parsing and validation: every malformed field is a 400 ApiError naming the field.
#include <gtest/gtest.h>

#include "server/api_error.h"
#include "server/request.h"

using namespace sputnik::server;
using nlohmann::json;

namespace {

RequestLimits limits() {
  RequestLimits l;
  l.ctx = 1024;
  l.max_n = 4;
  return l;
}

// The message of the 400 the body provokes ("" when it parses).
std::string chat_error(const json& body) {
  try {
    parse_chat_request(body, limits());
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    return e.what();
  }
  return "";
}

json user(const std::string& text) { return {{"role", "user"}, {"content", text}}; }

}  // namespace

TEST(Request, ParsesAFullChatRequest) {
  json body = {{"model", "x"},
               {"messages", {{{"role", "system"}, {"content", "Be brief."}},
                             user("Hi"),
                             {{"role", "assistant"}, {"content", "Hello"}, {"reasoning_content", "dropped"}},
                             {{"role", "user"}, {"content", {{{"type", "text"}, {"text", "a"}}, {{"type", "text"}, {"text", "b"}}}}}}},
               {"stream", true},
               {"stream_options", {{"include_usage", true}}},
               {"max_completion_tokens", 100},
               {"temperature", 0.5},
               {"top_p", 0.9},
               {"top_k", 20},
               {"min_p", 0.1},
               {"presence_penalty", 0.5},
               {"frequency_penalty", -0.5},
               {"seed", 42},
               {"stop", {"a", "b"}},
               {"n", 2},
               {"logprobs", true},
               {"top_logprobs", 3},
               {"reasoning_effort", "low"},
               {"unknown_field", {1, 2}}};
  GenerationRequest r = parse_chat_request(body, limits());
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[2].content, "Hello");
  EXPECT_EQ(r.messages[3].content, "ab");
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.max_tokens, 100);
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.9f);
  EXPECT_EQ(r.sampling.top_k, 20);
  EXPECT_FLOAT_EQ(r.sampling.frequency_penalty, -0.5f);
  EXPECT_EQ(r.sampling.seed, 42u);
  EXPECT_TRUE(r.seeded);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.n, 2);
  EXPECT_EQ(r.top_logprobs, 3);
  EXPECT_EQ(r.max_reasoning_tokens, reasoning_budget_for_effort("low"));
}

TEST(Request, OpenAIDefaults) {
  GenerationRequest r = parse_chat_request({{"messages", {user("x")}}}, limits());
  EXPECT_FLOAT_EQ(r.sampling.temperature, 1.0f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 1.0f);
  EXPECT_EQ(r.sampling.top_k, 0);
  EXPECT_FALSE(r.max_tokens.has_value());
  EXPECT_FALSE(r.max_reasoning_tokens.has_value());
  EXPECT_EQ(r.n, 1);
  EXPECT_FALSE(r.stream);
  // null means default, as in OpenAI's API
  r = parse_chat_request({{"messages", {user("x")}}, {"temperature", nullptr}, {"stop", nullptr}}, limits());
  EXPECT_FLOAT_EQ(r.sampling.temperature, 1.0f);
  EXPECT_TRUE(r.stop.empty());
}

TEST(Request, RejectsBadBodies) {
  const json m = json::array({user("x")});
  EXPECT_NE(chat_error(json::array()), "");
  EXPECT_NE(chat_error("text"), "");
  EXPECT_NE(chat_error(json::object()).find("'messages' is required"), std::string::npos);
  EXPECT_NE(chat_error({{"messages", json::array()}}).find("must not be empty"), std::string::npos);
  EXPECT_NE(chat_error({{"messages", "hi"}}), "");
  EXPECT_NE(chat_error({{"messages", {1}}}), "");
  EXPECT_NE(chat_error({{"messages", {{{"role", "wizard"}, {"content", "x"}}}}}).find("wizard"), std::string::npos);
  EXPECT_NE(chat_error({{"messages", {{{"role", 3}, {"content", "x"}}}}}), "");
  EXPECT_NE(chat_error({{"messages", {{{"role", "user"}}}}}).find("content is required"), std::string::npos);
  EXPECT_NE(chat_error({{"messages", {{{"role", "user"}, {"content", 5}}}}}), "");
  EXPECT_NE(chat_error({{"messages", {{{"role", "user"}, {"content", {{{"type", "image_url"}}}}}}}}).find("only text"), std::string::npos);
  EXPECT_NE(chat_error({{"messages", m}, {"temperature", "hot"}}).find("'temperature'"), std::string::npos);
  EXPECT_NE(chat_error({{"messages", m}, {"temperature", 3}}), "");
  EXPECT_NE(chat_error({{"messages", m}, {"top_p", 0}}), "");
  EXPECT_NE(chat_error({{"messages", m}, {"max_tokens", 0}}), "");
  EXPECT_NE(chat_error({{"messages", m}, {"max_tokens", 1.5}}), "");
  EXPECT_NE(chat_error({{"messages", m}, {"max_tokens", 1e18}}).find("'max_tokens'"), std::string::npos);
  EXPECT_NE(chat_error({{"messages", m}, {"max_tokens", 18446744073709551615ull}}), "");
  EXPECT_NE(chat_error({{"messages", m}, {"max_tokens", "10"}}), "");
  EXPECT_NE(chat_error({{"messages", m}, {"n", 5}}).find("'n'"), std::string::npos);
  EXPECT_NE(chat_error({{"messages", m}, {"n", 0}}), "");
  EXPECT_NE(chat_error({{"messages", m}, {"stop", 1}}), "");
  EXPECT_NE(chat_error({{"messages", m}, {"stop", {"a", 2}}}), "");
  EXPECT_NE(chat_error({{"messages", m}, {"stop", ""}}), "");
  EXPECT_NE(chat_error({{"messages", m}, {"stream", "yes"}}), "");
  EXPECT_NE(chat_error({{"messages", m}, {"stream_options", {{"include_usage", true}}}}), "");
  EXPECT_NE(chat_error({{"messages", m}, {"top_logprobs", 2}}).find("requires 'logprobs'"), std::string::npos);
  EXPECT_NE(chat_error({{"messages", m}, {"logprobs", true}, {"top_logprobs", 21}}), "");
  EXPECT_NE(chat_error({{"messages", m}, {"reasoning_effort", "extreme"}}), "");
  EXPECT_NE(chat_error({{"messages", m}, {"max_reasoning_tokens", -1}}), "");
  EXPECT_NE(chat_error({{"messages", m}, {"seed", "x"}}), "");
  EXPECT_NE(chat_error({{"messages", m}, {"presence_penalty", 2.5}}), "");
}

TEST(Request, Completions) {
  GenerationRequest r = parse_completion_request({{"prompt", "Once"}, {"logprobs", 2}}, limits());
  EXPECT_FALSE(r.chat);
  EXPECT_EQ(r.prompt, "Once");
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 2);
  EXPECT_THROW(parse_completion_request({{"prompt", 3}}, limits()), ApiError);
  EXPECT_THROW(parse_completion_request({{"prompt", ""}}, limits()), ApiError);
  EXPECT_THROW(parse_completion_request(json::object(), limits()), ApiError);
}
