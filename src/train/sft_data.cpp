#include "train/sft_data.h"

#include <omp.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <fstream>
#include <optional>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/gguf.h"

namespace sputnik {
namespace {

constexpr EncodeOptions kTemplateEncoding{.add_special = false, .parse_special = true};

std::string prefix_of(std::string_view where) { return where.empty() ? std::string("SFT example") : std::string(where); }

// The message list after checking what the templates rely on; errors name the message.
const nlohmann::ordered_json& checked_messages(const nlohmann::ordered_json& example, const std::string& at) {
  if (!example.is_object()) fail("{}: expected a JSON object with \"messages\"", at);
  auto it = example.find("messages");
  if (it == example.end()) fail("{}: missing \"messages\"", at);
  if (!it->is_array() || it->empty()) fail("{}: \"messages\" must be a non-empty array", at);
  bool has_assistant = false;
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& m = (*it)[i];
    if (!m.is_object()) fail("{}: message {} is not a JSON object", at, i);
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) fail("{}: message {} has no \"role\" string", at, i);
    const std::string& r = role->get_ref<const std::string&>();
    if (r != "system" && r != "user" && r != "assistant" && r != "tool")
      fail("{}: message {} has unknown role '{}' (expected system, user, assistant or tool)", at, i, r);
    auto content = m.find("content");
    const bool has_calls = r == "assistant" && m.contains("tool_calls");
    if (has_calls && !m["tool_calls"].is_array()) fail("{}: message {}: \"tool_calls\" must be an array", at, i);
    if (content == m.end() || content->is_null()) {
      if (!has_calls) fail("{}: message {} ({}) has no \"content\"", at, i, r);
    } else if (!content->is_string()) {
      fail("{}: message {} ({}): \"content\" must be a string", at, i, r);
    }
    auto reasoning = m.find("reasoning_content");
    if (reasoning != m.end() && !reasoning->is_null()) {
      if (r != "assistant") fail("{}: message {} ({}): only assistant turns carry \"reasoning_content\"", at, i, r);
      if (!reasoning->is_string()) fail("{}: message {}: \"reasoning_content\" must be a string", at, i);
    }
    has_assistant |= r == "assistant";
  }
  if (!has_assistant) fail("{}: no assistant message, so nothing to train on", at);
  return *it;
}

nlohmann::ordered_json head(const nlohmann::ordered_json& messages, size_t k) {
  return nlohmann::ordered_json(std::vector<nlohmann::ordered_json>(messages.begin(), messages.begin() + long(k)));
}

// The texts an assistant turn may end with (its end-of-turn token), as the template writes them.
std::vector<std::string> end_markers(const ChatTemplate& tmpl, const Tokenizer& tok) {
  std::vector<std::string> out;
  auto add = [&](const std::string& s) {
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  };
  if (tmpl.eos_token()) add(*tmpl.eos_token());
  if (tok.eos_id() >= 0) add(std::string(tok.token_to_piece(tok.eos_id())));
  for (const char* name : {"<|im_end|>", "<|endoftext|>", "<｜end▁of▁sentence｜>", "<|eot_id|>", "<|end|>"})
    if (tok.token_id(name) >= 0 && tok.is_special(tok.token_id(name))) add(name);
  return out;
}

// Byte lengths of the token-aligned prefixes of `text` that are at most `limit` long: where an
// encoding of `text` can be cut without splitting a token.
std::vector<size_t> token_boundaries(std::string_view text, size_t limit, const Tokenizer& tok) {
  const std::vector<int32_t> ids = tok.encode(text, kTemplateEncoding);
  std::vector<size_t> out{0};
  for (size_t i = 1; i <= ids.size(); ++i) {
    const std::string piece = tok.decode(std::span<const int32_t>(ids.data(), i));
    if (piece.size() > limit) break;
    if (text.substr(0, piece.size()) == piece) out.push_back(piece.size());  // else decode changed the text
  }
  return out;
}

// How much of the generation prompt's header the rendered turn starts with. All of it when the
// turn reproduces it; otherwise the longest common part that ends on a token boundary of both
// the header and the turn (DeepSeek-R1: "<｜Assistant｜>" of "<｜Assistant｜><think>\n"), so
// a header token never swallows the start of the assistant's first token.
size_t header_length(const std::string& header, std::string_view turn, const Tokenizer& tok) {
  size_t common = 0;
  while (common < header.size() && common < turn.size() && header[common] == turn[common]) ++common;
  if (common == header.size()) return common;
  const std::vector<size_t> a = token_boundaries(header, common, tok);
  const std::vector<size_t> b = token_boundaries(turn, common, tok);
  size_t best = 0;
  for (size_t x : a)
    if (std::find(b.begin(), b.end(), x) != b.end()) best = std::max(best, x);
  return best;
}

std::string trim_newlines(std::string_view s) {
  while (!s.empty() && s.front() == '\n') s.remove_prefix(1);
  while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return std::string(s);
}

// An assistant message's (thinking, answer), as Qwen3's template splits them.
std::pair<std::string, std::string> split_reasoning(const nlohmann::ordered_json& m) {
  std::string content = m.contains("content") && m["content"].is_string() ? m["content"].get<std::string>() : "";
  std::string reasoning;
  if (auto r = m.find("reasoning_content"); r != m.end() && r->is_string()) reasoning = r->get<std::string>();
  if (const size_t close = content.find("</think>"); close != std::string::npos) {
    if (reasoning.empty()) {
      std::string_view before = std::string_view(content).substr(0, close);
      if (const size_t open = before.rfind("<think>"); open != std::string_view::npos) before.remove_prefix(open + 7);
      reasoning = std::string(before);
    }
    content = content.substr(close + 8);
  }
  std::string_view answer = content;
  while (!answer.empty() && answer.front() == '\n') answer.remove_prefix(1);
  return {trim_newlines(reasoning), std::string(answer)};
}

}  // namespace

SftExample render_sft_example(const nlohmann::ordered_json& example, const ChatTemplate& tmpl, const Tokenizer& tok,
                              const SftOptions& options, std::string_view where) {
  const std::string at = prefix_of(where);
  const nlohmann::ordered_json& messages = checked_messages(example, at);
  ChatOptions chat = options.chat;
  if (auto tools = example.find("tools"); tools != example.end() && !tools->is_null()) {
    if (!tools->is_array()) fail("{}: \"tools\" must be an array", at);
    chat.tools = *tools;
  }
  const size_t n = messages.size();
  auto render = [&](size_t k, bool generation_prompt) {
    ChatOptions o = chat;
    o.add_generation_prompt = generation_prompt;
    try {
      return tmpl.render(head(messages, k), o);
    } catch (const Error& e) {
      fail("{}: rendering the first {} message(s) with {}: {}", at, k, tmpl.name(), e.what());
    }
  };

  SftExample out;
  out.text = render(n, false);
  size_t loop_end = n;  // messages whose turns are located in the template's own render
  std::optional<size_t> kept_turn;  // where the final turn with kept reasoning starts
  if (options.keep_reasoning && messages[n - 1]["role"] == "assistant") {
    const auto [reasoning, answer] = split_reasoning(messages[n - 1]);
    const size_t at_answer = answer.empty() ? std::string::npos : out.text.rfind(answer);
    if (!reasoning.empty() && out.text.find(reasoning) == std::string::npos && at_answer != std::string::npos) {
      const std::string prompt = render(n - 1, true);
      const std::string after = out.text.substr(at_answer + answer.size());
      const std::string open = prompt.ends_with("<think>\n") ? "" : "<think>\n";
      out.text = prompt + open + reasoning + "\n</think>\n\n" + answer + after;
      kept_turn = prompt.size();
      loop_end = n - 1;
    }
  }
  const std::string& full = out.text;
  // Cut points: [begin, end) byte ranges of `full` that are assistant output.
  std::vector<std::pair<size_t, size_t>> spans;
  std::vector<std::optional<size_t>> prefix_len(n + 1);  // len(render(messages[:j])) when a prefix of full
  std::vector<bool> known(n + 1, false);
  auto prefix_at = [&](size_t j) -> std::optional<size_t> {
    if (!known[j]) {
      known[j] = true;
      const std::string p = j == n ? full : render(j, false);
      if (full.compare(0, p.size(), p) == 0) prefix_len[j] = p.size();
    }
    return prefix_len[j];
  };
  const std::vector<std::string> ends = end_markers(tmpl, tok);

  for (size_t k = 0; k < loop_end; ++k) {
    if (messages[k]["role"] != "assistant") continue;
    const std::optional<size_t> start = prefix_at(k);
    if (!start)
      fail("{}: {} renders messages[:{}] differently from the start of the whole conversation, so assistant "
           "turn {} cannot be located",
           at, tmpl.name(), k, k);
    size_t stop = full.size();
    bool region_is_one_message = true;
    for (size_t j = k + 1; j <= n; ++j) {
      if (auto e = prefix_at(j); e && *e >= *start) {
        stop = *e;
        break;
      }
      region_is_one_message = false;
    }
    const std::string with_prompt = render(k, true);
    const std::string base = full.substr(0, *start);
    if (with_prompt.compare(0, base.size(), base) != 0)
      fail("{}: {} with add_generation_prompt does not extend the render of messages[:{}]", at, tmpl.name(), k);
    const std::string header = with_prompt.substr(base.size());
    const std::string_view turn = std::string_view(full).substr(*start, stop - *start);
    const size_t h = header.empty() ? 0 : header_length(header, turn, tok);
    if (!header.empty() && h == 0)
      fail("{}: assistant turn {} does not start with the template's generation prompt '{}'", at, k, header);
    // The turn ends with its first end-of-turn token; what follows is scaffolding (a newline)
    // or, when the next prefix did not line up, the next messages.
    size_t end = std::string_view::npos;
    for (const std::string& marker : ends) {
      const size_t p = turn.find(marker, h);
      if (p != std::string_view::npos) end = std::min(end, p + marker.size());
    }
    if (end == std::string_view::npos) {
      if (!region_is_one_message)
        fail("{}: cannot tell where assistant turn {} ends: no end-of-turn token and {} renders it differently "
             "once later messages follow",
             at, k, tmpl.name());
      end = turn.size();
    }
    if (end > h) spans.emplace_back(*start + h, *start + end);
  }
  if (kept_turn) {
    size_t end = full.size();
    for (const std::string& marker : ends)
      if (const size_t p = full.find(marker, *kept_turn); p != std::string::npos) end = std::min(end, p + marker.size());
    spans.emplace_back(*kept_turn, end);
  }

  // Encode scaffolding and assistant spans separately, in order.
  size_t pos = 0;
  std::vector<int32_t> ids;
  auto emit = [&](size_t from, size_t to, uint8_t target) {
    if (to <= from) return;
    ids.clear();
    tok.encode(std::string_view(full).substr(from, to - from), ids, kTemplateEncoding);
    for (int32_t id : ids) {
      out.tokens.push_back(uint32_t(id));
      out.mask.push_back(target);
    }
  };
  for (const auto& [b, e] : spans) {
    emit(pos, b, 0);
    emit(b, e, 1);
    pos = e;
  }
  emit(pos, full.size(), 0);
  return out;
}

void SftDataset::append(const SftExample& e) {
  tokens.insert(tokens.end(), e.tokens.begin(), e.tokens.end());
  mask.insert(mask.end(), e.mask.begin(), e.mask.end());
  offsets.push_back(tokens.size());
}

ChatTemplate load_sft_template(const std::string& model_path, const Tokenizer& tok, const std::string& template_file) {
  namespace fs = std::filesystem;
  auto piece = [&](int32_t id) { return id >= 0 ? std::optional<std::string>(tok.token_to_piece(id)) : std::nullopt; };
  if (!template_file.empty()) {
    std::ifstream f(template_file, std::ios::binary);
    if (!f) fail("cannot read chat template {}", template_file);
    const std::string source((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return ChatTemplate::from_string(source, template_file, piece(tok.bos_id()), piece(tok.eos_id()));
  }
  std::error_code ec;
  if (!fs::is_directory(model_path, ec) && fs::path(model_path).extension() == ".gguf") {
    const auto file = MappedFile::open(model_path);
    const nlohmann::json meta = gguf_metadata_json(parse_gguf(file->data(), file->size(), model_path));
    if (meta.contains("tokenizer.chat_template") && meta["tokenizer.chat_template"].is_string())
      return ChatTemplate::from_string(meta["tokenizer.chat_template"].get<std::string>(),
                                       model_path + ":tokenizer.chat_template", piece(tok.bos_id()), piece(tok.eos_id()));
    const std::string arch = meta.value("general.architecture", "");
    const ChatTemplate t = ChatTemplate::builtin(arch == "deepseek2" ? "deepseek_v2" : arch);
    return ChatTemplate::from_string(t.source(), t.name(), piece(tok.bos_id()), piece(tok.eos_id()));
  }
  const fs::path dir = fs::is_directory(model_path, ec) ? fs::path(model_path) : fs::path(model_path).parent_path();
  return ChatTemplate::from_folder(dir.empty() ? fs::path(".") : dir);
}

SftDataset load_sft_jsonl(const std::string& path, const ChatTemplate& tmpl, const Tokenizer& tok,
                          const SftLoadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open {}", path);
  std::vector<std::pair<size_t, std::string>> lines;  // (line number, text)
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    lines.emplace_back(n, std::move(line));
  }
  if (in.bad()) fail("{}: read error", path);

  std::vector<SftExample> done(lines.size());
  std::vector<std::string> errors(lines.size());
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string where = path + ":" + std::to_string(lines[i].first);
    try {
      nlohmann::ordered_json j;
      try {
        j = nlohmann::ordered_json::parse(lines[i].second);
      } catch (const nlohmann::json::exception& e) {
        fail("{}: not valid JSON: {}", where, e.what());
      }
      done[i] = render_sft_example(j, tmpl, tok, options.sft, where);
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  }

  SftDataset data;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!errors[i].empty()) {
      if (!options.skip_bad) throw Error(errors[i]);
      ++data.skipped;
      continue;
    }
    data.append(done[i]);
  }
  if (data.n_docs() == 0) fail("{}: no usable chat examples", path);
  return data;
}

}  // namespace sputnik
