#include "train/token_shard_writer.h"

#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace sputnik {
namespace {

// The format is little-endian; raw writes are only correct on a little-endian host.
static_assert(std::endian::native == std::endian::little, "token shards are written as raw little-endian words");

std::string tmp(const std::string& path) { return path + ".tmp"; }

std::FILE* open_for_write(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) fail("cannot create {}: {}", path, std::strerror(errno));
  return f;
}

}  // namespace

std::string shard_sibling(const std::string& bin_path, std::string_view extension) {
  const std::string_view p(bin_path);
  const std::string_view stem = p.ends_with(".bin") ? p.substr(0, p.size() - 4) : p;
  return std::string(stem) + std::string(extension);
}

TokenShardWriter::TokenShardWriter(std::string bin_path, bool with_mask)
    : bin_path_(std::move(bin_path)), with_mask_(with_mask) {
  if (bin_path_.empty()) fail("token shard: empty output path");
  const auto parent = std::filesystem::path(bin_path_).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent))
    fail("token shard {}: folder {} does not exist", bin_path_, parent.string());
  bin_ = open_for_write(tmp(bin_path_));
  if (with_mask_) mask_ = open_for_write(tmp(shard_sibling(bin_path_, ".mask")));
}

TokenShardWriter::~TokenShardWriter() {
  if (!finished_) discard();
}

void TokenShardWriter::discard() {
  if (bin_) std::fclose(bin_);
  if (mask_) std::fclose(mask_);
  bin_ = mask_ = nullptr;
  std::error_code ec;
  for (const char* ext : {".bin", ".idx", ".mask", ".json"}) std::filesystem::remove(tmp(shard_sibling(bin_path_, ext)), ec);
}

void TokenShardWriter::write(std::FILE* f, const std::string& path, const void* data, size_t bytes) {
  if (bytes && std::fwrite(data, 1, bytes, f) != bytes) fail("writing {}: {}", path, std::strerror(errno));
}

void TokenShardWriter::add_document(std::span<const uint32_t> tokens, std::span<const uint8_t> mask) {
  if (finished_) fail("token shard {}: add_document after finish", bin_path_);
  if (with_mask_ && mask.size() != tokens.size())
    fail("token shard {}: document {} has {} tokens but {} mask bytes", bin_path_, n_docs(), tokens.size(), mask.size());
  if (!with_mask_ && !mask.empty()) fail("token shard {}: a mask given to a shard without one", bin_path_);
  write(bin_, tmp(bin_path_), tokens.data(), tokens.size_bytes());
  if (with_mask_) write(mask_, tmp(shard_sibling(bin_path_, ".mask")), mask.data(), mask.size());
  offsets_.push_back(offsets_.back() + tokens.size());
}

void TokenShardWriter::finish(nlohmann::ordered_json metadata) {
  if (finished_) fail("token shard {}: finish called twice", bin_path_);
  const std::string idx_path = shard_sibling(bin_path_, ".idx");
  const std::string json_path = shard_sibling(bin_path_, ".json");
  const std::string mask_path = shard_sibling(bin_path_, ".mask");
  auto close = [&](std::FILE*& f, const std::string& path) {
    const bool ok = std::fflush(f) == 0 && std::fclose(f) == 0;
    f = nullptr;
    if (!ok) fail("writing {}: {}", path, std::strerror(errno));
  };
  close(bin_, tmp(bin_path_));
  if (mask_) close(mask_, tmp(mask_path));

  std::FILE* idx = open_for_write(tmp(idx_path));
  try {
    write(idx, tmp(idx_path), offsets_.data(), offsets_.size() * sizeof(uint64_t));
  } catch (...) {
    std::fclose(idx);
    throw;
  }
  close(idx, tmp(idx_path));

  if (!metadata.is_object()) metadata = nlohmann::ordered_json::object();
  metadata["format"] = "sputnik token shard: uint32 LE ids (.bin), uint64 LE doc offsets (.idx)";
  metadata["n_docs"] = n_docs();
  metadata["n_tokens"] = n_tokens();
  metadata["sft"] = with_mask_;
  metadata["files"] = {{"tokens", std::filesystem::path(bin_path_).filename().string()},
                       {"index", std::filesystem::path(idx_path).filename().string()}};
  if (with_mask_) metadata["files"]["mask"] = std::filesystem::path(mask_path).filename().string();
  const std::string text = metadata.dump(2) + "\n";
  std::FILE* js = open_for_write(tmp(json_path));
  try {
    write(js, tmp(json_path), text.data(), text.size());
  } catch (...) {
    std::fclose(js);
    throw;
  }
  close(js, tmp(json_path));

  // The metadata goes last: its presence says the shard is complete.
  std::vector<std::string> order{bin_path_, idx_path};
  if (with_mask_) order.push_back(mask_path);
  order.push_back(json_path);
  // A mask left by an earlier SFT run under the same name would turn this shard into SFT data.
  std::error_code stale_ec;
  if (!with_mask_) std::filesystem::remove(mask_path, stale_ec);
  for (const std::string& p : order) {
    std::error_code ec;
    std::filesystem::rename(tmp(p), p, ec);
    if (ec) fail("cannot move {} into place: {}", p, ec.message());
  }
  finished_ = true;
}

}  // namespace sputnik
