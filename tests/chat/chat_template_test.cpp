// ChatTemplate loading (tokenizer_config.json forms, chat_template.jinja, built-in fallbacks)
// and the variables it passes. Byte parity of the rendered prompts with Python Jinja2 is
// jinja2_parity.py's job; these tests pin the API behaviour around it.
#include "chat/chat_template.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "chat/reasoning_parser.h"
#include "core/error.h"

using namespace sputnik;
using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream f(fs::path(SPUTNIK_SOURCE_DIR) / "tests/chat/templates" / name, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("sputnik_chat_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
  }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

const json kChat = json::array({{{"role", "system"}, {"content", "Be brief."}},
                                {{"role", "user"}, {"content", "Hi"}},
                                {{"role", "assistant"}, {"content", "<think>\nhm\n</think>\n\nHello!"}},
                                {{"role", "user"}, {"content", "2+2?"}}});

}  // namespace

TEST(ChatTemplate, DeepSeekR1FromTokenizerConfigOpensThinking) {
  TempDir dir;
  json cfg = {{"bos_token", {{"__type", "AddedToken"}, {"content", "<｜begin▁of▁sentence｜>"}}},
              {"eos_token", {{"__type", "AddedToken"}, {"content", "<｜end▁of▁sentence｜>"}}},
              {"chat_template", fixture("deepseek-r1.jinja")}};
  dir.write("tokenizer_config.json", cfg.dump());
  ChatTemplate t = ChatTemplate::from_folder(dir.path());
  EXPECT_EQ(t.bos_token(), "<｜begin▁of▁sentence｜>");
  std::string prompt = t.render(kChat);
  // The template drops the earlier turn's thinking (keeping what followed </think>) and leaves
  // the model inside a new one.
  EXPECT_EQ(prompt,
            "<｜begin▁of▁sentence｜>Be brief.<｜User｜>Hi<｜Assistant｜>\n\nHello!<｜end▁of▁sentence｜>"
            "<｜User｜>2+2?<｜Assistant｜><think>\n");
  EXPECT_EQ(ReasoningParser::style_for_prompt(prompt), ReasoningStyle::PromptOpened);
  ChatOptions no_gen;
  no_gen.add_generation_prompt = false;
  EXPECT_EQ(t.render(kChat, no_gen).find("<think>"), std::string::npos);
}

TEST(ChatTemplate, NamedTemplateListPicksDefault) {
  TempDir dir;
  json cfg = {{"eos_token", "<|im_end|>"},
              {"chat_template", json::array({{{"name", "tool_use"}, {"template", "TOOLS"}},
                                             {{"name", "default"}, {"template", "{{ messages|length }}{{ eos_token }}"}}})}};
  dir.write("tokenizer_config.json", cfg.dump());
  EXPECT_EQ(ChatTemplate::from_folder(dir.path()).render(kChat), "4<|im_end|>");
}

TEST(ChatTemplate, JinjaFileWinsOverConfig) {
  TempDir dir;
  dir.write("tokenizer_config.json", json{{"chat_template", "from config"}}.dump());
  dir.write("chat_template.jinja", "from file {{ messages[-1].content }}\n");
  EXPECT_EQ(ChatTemplate::from_folder(dir.path()).render(kChat), "from file 2+2?");
}

TEST(ChatTemplate, BuiltinFallbackByModelType) {
  TempDir qwen;
  qwen.write("config.json", json{{"model_type", "qwen2"}}.dump());
  qwen.write("tokenizer_config.json", json{{"eos_token", "<|im_end|>"}}.dump());
  json msgs = json::array({{{"role", "user"}, {"content", "hi"}}});
  EXPECT_EQ(ChatTemplate::from_folder(qwen.path()).render(msgs), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");

  TempDir ds;
  ds.write("config.json", json{{"model_type", "deepseek_v3"}}.dump());
  ChatTemplate t = ChatTemplate::from_folder(ds.path());
  // The built-in DeepSeek template is the real R1 one, byte for byte.
  EXPECT_EQ(t.source(), fixture("deepseek-r1.jinja"));
  EXPECT_EQ(t.render(msgs), "<｜begin▁of▁sentence｜><｜User｜>hi<｜Assistant｜><think>\n");

  TempDir other;
  other.write("config.json", json{{"model_type", "llama"}}.dump());
  EXPECT_THROW(ChatTemplate::from_folder(other.path()), Error);
  TempDir empty;
  try {
    ChatTemplate::from_folder(empty.path());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no chat template"), std::string::npos) << e.what();
  }
}

TEST(ChatTemplate, EnableThinkingReachesQwen3Template) {
  ChatTemplate t = ChatTemplate::from_string(fixture("qwen3.jinja"), "qwen3", std::nullopt, "<|im_end|>");
  json msgs = json::array({{{"role", "user"}, {"content", "hi"}}});
  ChatOptions opt;
  EXPECT_EQ(t.render(msgs, opt), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  opt.enable_thinking = false;
  std::string off = t.render(msgs, opt);
  EXPECT_EQ(off, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  EXPECT_EQ(ReasoningParser::style_for_prompt(off), ReasoningStyle::None);
  opt.enable_thinking = true;
  EXPECT_EQ(t.render(msgs, opt), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, ToolsAndExtraVariables) {
  ChatTemplate t = ChatTemplate::from_string(
      "{% for tool in tools or [] %}{{ tool.function.name }};{% endfor %}{{ custom }}{{ tools is none }}", "t");
  ChatOptions opt;
  opt.tools = json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}});
  opt.extra = {{"custom", "X"}};
  EXPECT_EQ(t.render(json::array(), opt), "f;XFalse");
  EXPECT_EQ(t.render(json::array()), "True");
}

TEST(ChatTemplate, BadInputIsAnError) {
  ChatTemplate t = ChatTemplate::builtin("qwen2");
  EXPECT_THROW(t.render(json::object()), Error);
  EXPECT_THROW(t.render(json::array({"not an object"})), Error);
  ChatOptions opt;
  opt.tools = "nope";
  EXPECT_THROW(t.render(json::array(), opt), Error);
  EXPECT_THROW(ChatTemplate::from_string("{% if %}", "bad"), Error);
  TempDir dir;
  dir.write("tokenizer_config.json", "{not json");
  EXPECT_THROW(ChatTemplate::from_folder(dir.path()), Error);
  // A template's own raise_exception surfaces as an Error carrying its message.
  ChatTemplate strict = ChatTemplate::from_string("{{ raise_exception('roles must alternate') }}", "strict");
  try {
    strict.render(kChat);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("roles must alternate"), std::string::npos);
  }
}
