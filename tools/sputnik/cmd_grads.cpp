// `sputnik grads -m PATH --tokens 1,2,3 --out FILE.safetensors [--mtp-weight λ]`: the float32
// gradient of the mean next-token cross-entropy (+ λ·MTP loss) over one sequence with respect to
// every trainable parameter, written under the checkpoint's own tensor names — the black-box hook
// that tests compare against PyTorch autograd.
// Not written: DeepSeek-V3's e_score_correction_bias (it only selects experts, so its gradient is
// zero; training moves it by load balancing), FP8 scale tensors, and the MTP layer's stored copies
// of the embedding and head (the MTP module shares the main model's: their gradient is in
// model.embed_tokens.weight / lm_head.weight). GGUF input gets the Hugging Face names.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "model_loading.h"
#include "core/error.h"
#include "core/threads.h"
#include "formats/loader.h"
#include "formats/safetensors_writer.h"
#include "models/config.h"
#include "train/cross_entropy.h"
#include "train/model.h"

namespace {

std::function<int()> setup(CLI::App& app) {
  struct Opts {
    std::string model, tokens, out;
    float mtp_weight = 0.0f;
    int threads = 0;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("-m,--model", o->model, "model folder, .safetensors or .gguf")->required();
  app.add_option("--tokens", o->tokens, "comma-separated token ids (at least 2), e.g. 1,2,3")->required();
  app.add_option("--out", o->out, "where to write the gradients (.safetensors, float32)")->required();
  app.add_option("--mtp-weight", o->mtp_weight,
                 "λ: add λ·(multi-token-prediction loss) (needs a DeepSeek-V3 checkpoint with an MTP layer)")
      ->check(CLI::NonNegativeNumber);
  sputnik::cli::add_threads_option(app, o->threads);
  return [o] {
    using namespace sputnik;
    set_num_threads(o->threads);
    const std::vector<int32_t> tokens = sputnik::cli::parse_token_list(o->tokens);
    if (tokens.size() < 2) fail("--tokens: need at least 2 token ids (the loss predicts each next token)");
    // The MTP module predicts the token two ahead: with 2 tokens it would have no target at all.
    if (o->mtp_weight > 0.0f && tokens.size() < 3) fail("--tokens: the MTP loss needs at least 3 token ids");

    std::unique_ptr<WeightStore> weights = load_weights(o->model);
    const ModelConfig config = parse_model_config(weights->config, weights->source);
    for (int32_t t : tokens)
      if (t >= config.vocab_size) fail("--tokens: id {} is outside the vocabulary (size {})", t, config.vocab_size);
    if (o->mtp_weight > 0.0f && config.num_nextn_predict_layers < 1)
      fail("{}: --mtp-weight needs a checkpoint with an MTP layer (num_nextn_predict_layers >= 1)", weights->source);

    train::TrainModel model(config);
    model.load(*weights);
    weights.reset();  // the f32 copy is all that is needed from here on

    // Batch of one: position s predicts token s+1; the last position has nothing to predict.
    const int64_t S = int64_t(tokens.size());
    std::vector<int32_t> targets(tokens.begin() + 1, tokens.end());
    targets.push_back(train::kIgnoreIndex);
    model.zero_grad();
    const float total = model.forward_backward(tokens.data(), targets.data(), 1, S, o->mtp_weight);

    SafetensorsWriter out;
    for (const train::Param& p : model.params()) {
      if (!p.trainable) continue;  // the MoE selection bias moves by load balancing, has no gradient
      out.add_f32(p.name, p.shape, model.grads().data() + p.offset);
    }
    out.set_metadata("loss", fmt::format("{:.9g}", model.last_main_loss()));
    if (o->mtp_weight > 0.0f) {
      out.set_metadata("mtp_loss", fmt::format("{:.9g}", model.last_mtp_loss()));
      out.set_metadata("mtp_weight", fmt::format("{:.9g}", o->mtp_weight));
    }
    out.set_metadata("total_loss", fmt::format("{:.9g}", total));
    out.write(o->out);

    std::printf("loss = %.9g\n", double(model.last_main_loss()));
    if (o->mtp_weight > 0.0f) {
      std::printf("mtp_loss = %.9g\n", double(model.last_mtp_loss()));
      std::printf("total_loss = %.9g\n", double(total));
    }
    return 0;
  };
}

}  // namespace

SPUTNIK_COMMAND("grads", "write float32 loss gradients of every parameter (.safetensors, numeric checks)", setup);
