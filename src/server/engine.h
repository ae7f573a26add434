#pragma once
// What the scheduler needs from a model: one batched forward over KV-cache slots plus the
// slot operations of the prefix cache. ModelEngine is the real thing (a Model and its KVCache);
// tests give the scheduler a fake.
#include <cstdint>

#include "models/batch.h"
#include "models/model.h"

namespace sputnik::server {

class Engine {
 public:
  virtual ~Engine() = default;
  virtual int32_t n_slots() const = 0;
  virtual int64_t ctx() const = 0;  // tokens one slot can hold
  virtual int32_t vocab_size() const = 0;
  // Appends the batch to the cache; logits for tokens with want_logits, in batch order.
  virtual void forward(const Batch& batch, float* logits) = 0;
  virtual void truncate(int32_t slot, int64_t n) = 0;
  virtual void copy_prefix(int32_t src, int32_t dst, int64_t n) = 0;
};

class ModelEngine : public Engine {
 public:
  ModelEngine(Model& model, int32_t n_slots, int64_t ctx)
      : model_(model), cache_(model.make_cache(n_slots, ctx)), n_slots_(n_slots), ctx_(ctx) {}
  int32_t n_slots() const override { return n_slots_; }
  int64_t ctx() const override { return ctx_; }
  int32_t vocab_size() const override { return int32_t(model_.config().vocab_size); }
  void forward(const Batch& batch, float* logits) override { model_.forward(batch, cache_, logits); }
  void truncate(int32_t slot, int64_t n) override { cache_.truncate(slot, n); }
  void copy_prefix(int32_t src, int32_t dst, int64_t n) override { cache_.copy_prefix(src, dst, n); }

 private:
  Model& model_;
  KVCache cache_;
  int32_t n_slots_;
  int64_t ctx_;
};

}  // namespace sputnik::server
