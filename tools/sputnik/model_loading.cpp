#include "model_loading.h"

#include <memory>

#include <fmt/format.h>

#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/progress_line.h"
#include "core/threads.h"
#include "models/decode_panels.h"

namespace sputnik::cli {

LoadOptions load_options_with_progress(const std::string& path, bool verbose) {
  LoadOptions options;
  // A terminal gets a bar redrawn in place; a log file (or pipe) one line once loading is done.
  auto line = std::make_shared<ProgressLine>(ProgressLine::kFinalOnly);
  options.progress = [=](uint64_t done, uint64_t total) {
    if (!verbose && total < (uint64_t(256) << 20)) return;
    const bool final = done == total;
    if (!line->due(final)) return;
    const double gib = double(1 << 30), fraction = total ? double(done) / double(total) : 1.0;
    if (line->tty()) {
      line->show(fmt::format("loading {} {}{:3d}% {:.1f}/{:.1f} GiB{}", path, ProgressLine::bar(fraction, 40),
                             int(fraction * 100), double(done) / gib, double(total) / gib,
                             final ? fmt::format(" ({:.1f} s)", line->seconds()) : ""),
                 final);
    } else {
      line->show(fmt::format("loaded {}: {:.1f} GiB in {:.1f} s", path, double(total) / gib, line->seconds()), final);
    }
  };
  options.prefetch = line->tty();
  // SPUTNIK_DECODE_TILES=0 keeps the weights memory-mapped as stored (slower decode, loads lazily).
  const char* tiles = std::getenv("SPUTNIK_DECODE_TILES");
  options.decode_tiles = !(tiles && std::string(tiles) == "0");
  // Laid out for a decode team of this many threads (set before loading by every command).
  options.panels = [ranks = num_threads()](const WeightStore& store, const std::string& name) {
    return decode_panels(store, name, ranks);
  };
  return options;
}

std::vector<int32_t> parse_token_list(const std::string& text) {
  if (text.empty()) fail("--tokens: no token ids given");
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i <= text.size()) {  // <= so that a trailing comma is an empty (rejected) item
    size_t end = text.find(',', i);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(i, end - i);
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (...) {
      used = 0;
    }
    if (item.empty() || used != item.size() || v < 0 || v > INT32_MAX)
      fail("--tokens: '{}' is not a token id (expected e.g. 1,2,3)", item);
    ids.push_back(int32_t(v));
    i = end + 1;
  }
  return ids;
}

}  // namespace sputnik::cli
