#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "core/error.h"

namespace sputnik {

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{}: not a regular file", path);
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->size_ = size_t(st.st_size);
  if (f->size_ > 0) {
    void* p = mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      fail("{}: mmap failed: {}", path, std::strerror(e));
    }
    f->data_ = static_cast<const std::byte*>(p);
    // Ask for 2 MiB pages. Decode streams every weight once per token, and with 4 KiB pages on
    // a VM the nested (guest + host) page walks, not DRAM, limit that stream: weights mapped
    // with 2 MiB pages decode ~30% faster here. The page cache then reads the file into 2 MiB
    // folios where the filesystem supports them. Only a hint: kernels without file THP (or
    // with THP off) refuse it, and the 4 KiB mapping works as before.
    (void)madvise(p, f->size_, MADV_HUGEPAGE);
  }
  ::close(fd);
  return f;
}

MappedFile::~MappedFile() {
  if (data_) munmap(const_cast<std::byte*>(data_), size_);
}

void MappedFile::release(size_t offset, size_t length) const {
  if (!data_ || offset >= size_) return;
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  const size_t start = (offset + page - 1) / page * page;
  const size_t end = std::min(size_, offset + length) / page * page;
  if (start < end) madvise(const_cast<std::byte*>(data_) + start, end - start, MADV_DONTNEED);
}

void MappedFile::prefetch(size_t offset, size_t length) const {
  if (!data_ || offset >= size_) return;
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  const size_t start = offset / page * page;
  const size_t end = std::min(size_, offset + length);
  madvise(const_cast<std::byte*>(data_) + start, end - start, MADV_WILLNEED);
}

std::optional<MappedFile::Residency> MappedFile::residency_of(const void* data, size_t size) {
  if (!data) return Residency{};
  std::ifstream smaps("/proc/self/smaps");
  if (!smaps) return std::nullopt;
  // The mapping may show as several areas (the kernel splits a VMA where its pages differ), so
  // add up every area inside [data_, data_ + size_).
  const auto begin = reinterpret_cast<uintptr_t>(data), end = begin + size;
  Residency r;
  bool inside = false, seen = false;
  std::string line;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    // An area's header: "lo-hi perms offset dev inode path"; its fields follow ("Rss: N kB").
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR, &lo, &hi) == 2) {
      inside = lo >= begin && lo < end;
      seen = seen || inside;
      continue;
    }
    if (!inside) continue;
    size_t kb = 0;
    if (std::sscanf(line.c_str(), "Rss: %zu kB", &kb) == 1) r.rss_bytes += kb * 1024;
    if (std::sscanf(line.c_str(), "FilePmdMapped: %zu kB", &kb) == 1) r.pmd_mapped_bytes += kb * 1024;
    if (std::sscanf(line.c_str(), "AnonHugePages: %zu kB", &kb) == 1) r.pmd_mapped_bytes += kb * 1024;
  }
  if (!seen) return std::nullopt;
  return r;
}

}  // namespace sputnik
