#pragma once
// Everything needed to talk to a model, opened from one `-m PATH` (HF folder or GGUF file):
// weights, the forward pass, and -- when the checkpoint ships them -- the tokenizer, the chat
// template and the tokens that end an assistant turn. `run`, `chat`, `perplexity` and the
// server all open models through this.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "formats/loader.h"
#include "models/model.h"
#include "tokenizer/tokenizer.h"

namespace sputnik {

struct ModelBundle {
  std::shared_ptr<const WeightStore> weights;
  std::unique_ptr<Model> model;
  std::optional<Tokenizer> tokenizer;        // absent for weight-only checkpoints
  std::optional<ChatTemplate> chat_template;  // absent when there is no tokenizer
  std::vector<int32_t> stop_ids;              // ids that end a generation (eos, <|im_end|>, ...)

  const Tokenizer& require_tokenizer() const;  // throws Error naming the path when absent
  const ChatTemplate& require_template() const;
  std::string path;
};

ModelBundle open_bundle(const std::string& path, const LoadOptions& options = {});

// The template renders with the tokenizer's special-token spellings; returns prompt token ids
// for `messages` (special tokens in the template parsed, user text as the template put it).
std::vector<int32_t> encode_chat(const ModelBundle& bundle, const nlohmann::ordered_json& messages,
                                 const ChatOptions& options = {});

}  // namespace sputnik
