#pragma once
// Read-only memory map of a whole file. Weights stay in the page cache: opening a model touches
// only the pages that are read, and nothing is copied.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace sputnik {

class MappedFile {
 public:
  // Throws Error naming the path when the file cannot be opened or mapped.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Hint that a byte range will be read soon (e.g. while loading with a progress bar).
  void prefetch(size_t offset, size_t length) const;
  // Drops this process's pages of the whole pages inside a byte range that was read once and is
  // done with (e.g. a GGUF header and vocabulary after loading): they leave our RSS, stay in the
  // page cache, and are read back transparently if touched again.
  void release(size_t offset, size_t length) const;

  // How this mapping is resident now, from /proc/self/smaps (Linux); nullopt where that cannot
  // be read. pmd_mapped_bytes: the part mapped with 2 MiB pages (FilePmdMapped).
  struct Residency {
    size_t rss_bytes = 0;
    size_t pmd_mapped_bytes = 0;
  };
  std::optional<Residency> residency() const { return residency_of(data_, size_); }
  // The same for any range of this process's memory (anonymous 2 MiB pages count as
  // pmd_mapped_bytes too); nullopt where /proc/self/smaps cannot be read or has no such area.
  static std::optional<Residency> residency_of(const void* data, size_t size);

 private:
  MappedFile() = default;
  std::string path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sputnik
