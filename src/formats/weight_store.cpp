#include "formats/weight_store.h"

#include "core/error.h"

namespace sputnik {

const TensorView* WeightStore::find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

const TensorView& WeightStore::get(std::string_view name) const {
  const TensorView* t = find(name);
  if (!t) fail("{}: missing tensor '{}'", source, name);
  return *t;
}

const TensorView& WeightStore::get(std::string_view name,
                                   const std::vector<int64_t>& expected_shape) const {
  const TensorView& t = get(name);
  if (t.shape != expected_shape) {
    TensorView want;
    want.shape = expected_shape;
    fail("{}: tensor '{}' has shape {}, expected {}", source, name, t.shape_string(),
         want.shape_string());
  }
  return t;
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [name, _] : tensors_) out.push_back(name);
  return out;
}

void WeightStore::add(TensorView view) {
  std::string name = view.name;
  if (!tensors_.emplace(name, std::move(view)).second)
    fail("{}: tensor '{}' appears twice", source, name);
}

std::byte* WeightStore::allocate(size_t nbytes) {
  owned_.push_back(std::make_unique<std::byte[]>(nbytes ? nbytes : 1));
  return owned_.back().get();
}

}  // namespace sputnik
