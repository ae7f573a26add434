#pragma once
// The loss-curve picture written next to the checkpoints (DIR/loss.svg): train and eval loss
// against step, with labelled ticks on both axes. Plain hand-written SVG, viewable in any browser.
#include <cstdint>
#include <string>
#include <vector>

namespace sputnik::train {

struct CurvePoint {
  int64_t step = 0;
  double loss = 0;
};

// About `target` evenly spaced "nice" values (1, 2 or 5 × 10^k apart) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target);

std::string render_loss_svg(const std::vector<CurvePoint>& train, const std::vector<CurvePoint>& eval,
                            const std::string& title);

// Renders and replaces `path` atomically (a reader never sees half a file).
void write_loss_svg(const std::string& path, const std::vector<CurvePoint>& train,
                    const std::vector<CurvePoint>& eval, const std::string& title);

// Writes `text` to `path` through a temporary file renamed into place; throws Error on failure.
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace sputnik::train
