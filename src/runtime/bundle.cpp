#include "runtime/bundle.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"

namespace sputnik {
namespace {

bool is_gguf(const std::string& path) {
  return path.size() >= 5 && path.compare(path.size() - 5, 5, ".gguf") == 0;
}

std::string model_dir(const std::string& path) {
  namespace fs = std::filesystem;
  return fs::is_directory(path) ? path : fs::path(path).parent_path().string();
}

bool has_tokenizer(const std::string& path) {
  namespace fs = std::filesystem;
  if (is_gguf(path)) return true;  // GGUF files carry their vocabulary
  return fs::exists(fs::path(model_dir(path)) / "tokenizer.json");
}

ChatTemplate load_template(const std::string& path, const WeightStore& w, const Tokenizer& tok) {
  if (is_gguf(path)) {
    auto bos = tok.bos_id() >= 0 ? std::optional<std::string>(tok.token_to_piece(tok.bos_id())) : std::nullopt;
    auto eos = tok.eos_id() >= 0 ? std::optional<std::string>(tok.token_to_piece(tok.eos_id())) : std::nullopt;
    if (w.metadata.contains("tokenizer.chat_template") && w.metadata["tokenizer.chat_template"].is_string())
      return ChatTemplate::from_string(w.metadata["tokenizer.chat_template"].get<std::string>(),
                                       path + ":tokenizer.chat_template", bos, eos);
    ChatTemplate t = ChatTemplate::builtin(w.config.value("model_type", ""));
    return ChatTemplate::from_string(t.source(), t.name(), bos, eos);
  }
  return ChatTemplate::from_folder(model_dir(path));
}

// The one list of ids that end a generation, used by `run`, `chat` and the server alike.
std::vector<int32_t> find_stop_ids(const Tokenizer& tok, const WeightStore& w) {
  std::vector<int32_t> ids;
  auto add = [&](int32_t id) {
    if (id >= 0 && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  };
  add(tok.eos_id());
  for (const char* name : {"<|im_end|>", "<|endoftext|>", "<｜end▁of▁sentence｜>", "<|eot_id|>"}) {
    const int32_t id = tok.token_id(name);
    if (id >= 0 && tok.is_special(id)) add(id);
  }
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"})
    if (w.metadata.contains(key) && w.metadata[key].is_number_integer()) add(w.metadata[key].get<int32_t>());
  return ids;
}

}  // namespace

const Tokenizer& ModelBundle::require_tokenizer() const {
  if (!tokenizer) fail("{}: no tokenizer (tokenizer.json) next to the weights; use --tokens", path);
  return *tokenizer;
}

const ChatTemplate& ModelBundle::require_template() const {
  if (!chat_template) fail("{}: no chat template available", path);
  return *chat_template;
}

ModelBundle open_bundle(const std::string& path, const LoadOptions& options) {
  ModelBundle b;
  b.path = path;
  // The tokenizer first: parsing its vocabulary takes several times the heap it keeps (see
  // load_tokenizer), and that transient peak should not stack on top of resident weights.
  if (has_tokenizer(path)) b.tokenizer = load_tokenizer(path);
  b.weights = load_weights(path, options);
  b.model = load_model(b.weights);
  if (b.tokenizer) {
    b.chat_template = load_template(path, *b.weights, *b.tokenizer);
    b.stop_ids = find_stop_ids(*b.tokenizer, *b.weights);
  }
  return b;
}

std::vector<int32_t> encode_chat(const ModelBundle& bundle, const nlohmann::ordered_json& messages,
                                 const ChatOptions& options) {
  const Tokenizer& tok = bundle.require_tokenizer();
  const std::string prompt = bundle.require_template().render(messages, options);
  // The template writes BOS itself where the model wants it; don't add another.
  return tok.encode(prompt, EncodeOptions{.add_special = false, .parse_special = true});
}

}  // namespace sputnik
