#include "model_loading.h"

#include <memory>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/threads.h"
#include "models/decode_panels.h"

namespace sputnik::cli {

LoadOptions load_options_with_progress(const std::string& path, bool verbose) {
  LoadOptions options;
  const auto t0 = std::chrono::steady_clock::now();
  auto last_percent = std::make_shared<int>(-1);
  // A terminal gets a bar redrawn in place; a log file (or pipe) one line once loading is done
  // instead of a hundred carriage-return updates.
  const bool tty = isatty(STDERR_FILENO) != 0;
  options.progress = [=](uint64_t done, uint64_t total) {
    if (!verbose && total < (uint64_t(256) << 20)) return;
    const int percent = total ? int(done * 100 / total) : 100;
    if (percent == *last_percent) return;
    *last_percent = percent;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!tty) {
      if (done == total)
        std::fprintf(stderr, "loaded %s: %.1f GiB in %.1f s\n", path.c_str(), double(total) / double(1 << 30), seconds);
      return;
    }
    const int width = 40, filled = percent * width / 100;
    std::fprintf(stderr, "\rloading %s [%.*s%*s] %3d%% %.1f/%.1f GiB", path.c_str(), filled,
                 "########################################", width - filled, "", percent,
                 double(done) / double(1 << 30), double(total) / double(1 << 30));
    if (done == total) std::fprintf(stderr, " (%.1f s)\n", seconds);
    std::fflush(stderr);
  };
  options.prefetch = tty;
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
