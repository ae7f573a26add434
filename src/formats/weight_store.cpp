#include "formats/weight_store.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>

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

void WeightStore::replace(TensorView view) {
  auto it = tensors_.find(view.name);
  if (it == tensors_.end()) fail("{}: missing tensor '{}'", source, view.name);
  it->second = std::move(view);
}

std::optional<MappedFile::Residency> WeightStore::residency() const {
  MappedFile::Residency all;
  auto add = [&](std::optional<MappedFile::Residency> r) {
    if (!r) return false;
    all.rss_bytes += r->rss_bytes;
    all.pmd_mapped_bytes += r->pmd_mapped_bytes;
    return true;
  };
  for (const auto& f : files_)
    if (!add(f->residency())) return std::nullopt;
  for (const auto& p : pages_)
    if (!add(MappedFile::residency_of(p->data, p->size))) return std::nullopt;
  return all;
}

std::vector<WeightStore::Region> WeightStore::page_regions() const {
  std::vector<Region> regions;
  for (const auto& p : pages_) regions.push_back(p->asked);
  return regions;
}

WeightStore::Pages::~Pages() { munmap(data, size); }

std::byte* WeightStore::allocate_pages(size_t nbytes) {
  // 2 MiB aligned, so that huge pages can cover all of it (over-allocated by one 2 MiB page;
  // untouched, the spare part never becomes resident).
  constexpr size_t kHuge = size_t(2) << 20;
  const size_t size = std::max<size_t>(nbytes, 1) + kHuge;
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) fail("{}: cannot allocate {} bytes for weights", source, nbytes);
  pages_.push_back(std::make_unique<Pages>(p, size));
  auto* aligned = reinterpret_cast<std::byte*>((reinterpret_cast<uintptr_t>(p) + kHuge - 1) / kHuge * kHuge);
  // Only a hint: streaming reads through 4 KiB pages pay nested page walks on a VM.
  (void)madvise(aligned, std::max<size_t>(nbytes, 1), MADV_HUGEPAGE);
  pages_.back()->asked = {aligned, nbytes};
  return aligned;
}

std::byte* WeightStore::allocate(size_t nbytes) {
  owned_.push_back(std::make_unique<std::byte[]>(nbytes ? nbytes : 1));
  return owned_.back().get();
}

}  // namespace sputnik
