// llama.cpp side of bench/compare/agreement.sh: loads a GGUF with libllama (CPU), runs the given
// prompt ids as one batch and prints, as JSON lines,
//   {"logits": [[...], ...]}   float32 logits for every prompt position
//   {"greedy": [id, ...]}      N greedy (argmax) tokens generated one at a time after the prompt
// Not part of the sputnik build: agreement.sh compiles it against /work/llama.cpp.
//
//   llama_ref MODEL.gguf N_GREEDY ID,ID,...
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "llama.h"

namespace {

std::vector<llama_token> parse_ids(const std::string& s) {
  std::vector<llama_token> ids;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    ids.push_back(llama_token(std::stol(s.substr(i, j - i))));
    i = j + 1;
  }
  return ids;
}

void print_row(const float* row, int n) {
  std::printf("[");
  for (int i = 0; i < n; ++i) std::printf(i ? ",%.9g" : "%.9g", row[i]);
  std::printf("]");
}

int argmax(const float* row, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (row[i] > row[best]) best = i;  // first maximum on ties, like a plain argmax
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s MODEL.gguf N_GREEDY ID,ID,...\n", argv[0]);
    return 2;
  }
  const int n_greedy = std::atoi(argv[2]);
  const std::vector<llama_token> prompt = parse_ids(argv[3]);
  llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
  llama_backend_init();

  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = 0;
  llama_model* model = llama_model_load_from_file(argv[1], mp);
  if (!model) {
    std::fprintf(stderr, "llama_ref: cannot load %s\n", argv[1]);
    return 1;
  }
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));

  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = uint32_t(prompt.size() + n_greedy + 8);
  cp.n_batch = cp.n_ctx;
  cp.n_ubatch = cp.n_ctx;
  // f32 cache (llama.cpp's default is f16) so the logits compare the engines' math, not the
  // cache's rounding.
  cp.type_k = GGML_TYPE_F32;
  cp.type_v = GGML_TYPE_F32;
  cp.n_threads = 2;
  cp.n_threads_batch = 2;
  llama_context* ctx = llama_init_from_model(model, cp);
  if (!ctx) {
    std::fprintf(stderr, "llama_ref: cannot create a context\n");
    return 1;
  }

  llama_batch batch = llama_batch_init(int32_t(prompt.size()), 0, 1);
  for (size_t i = 0; i < prompt.size(); ++i) {
    batch.token[i] = prompt[i];
    batch.pos[i] = llama_pos(i);
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = 1;
  }
  batch.n_tokens = int32_t(prompt.size());
  if (llama_decode(ctx, batch) != 0) {
    std::fprintf(stderr, "llama_ref: decode failed\n");
    return 1;
  }
  std::printf("{\"logits\": [");
  for (size_t i = 0; i < prompt.size(); ++i) {
    if (i) std::printf(",");
    print_row(llama_get_logits_ith(ctx, int32_t(i)), n_vocab);
  }
  std::printf("]}\n");

  std::vector<int> greedy;
  int next = argmax(llama_get_logits_ith(ctx, int32_t(prompt.size() - 1)), n_vocab);
  for (int k = 0; k < n_greedy; ++k) {
    greedy.push_back(next);
    if (k + 1 == n_greedy) break;
    llama_batch one = llama_batch_get_one(&greedy.back(), 1);
    if (llama_decode(ctx, one) != 0) {
      std::fprintf(stderr, "llama_ref: decode failed\n");
      return 1;
    }
    next = argmax(llama_get_logits_ith(ctx, -1), n_vocab);
  }
  std::printf("{\"greedy\": [");
  for (size_t i = 0; i < greedy.size(); ++i) std::printf(i ? ",%d" : "%d", greedy[i]);
  std::printf("]}\n");

  llama_batch_free(batch);
  llama_free(ctx);
  llama_model_free(model);
  return 0;
}
