#include "train/loss_curve.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace sputnik::train {

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / std::max(target, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> out;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    out.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return out;
}

namespace {

constexpr double kW = 720, kH = 420, kLeft = 70, kRight = 20, kTop = 40, kBottom = 50;

std::string label(double v) { return fmt::format("{:.6g}", v); }

}  // namespace

std::string render_loss_svg(const std::vector<CurvePoint>& train, const std::vector<CurvePoint>& eval,
                            const std::string& title) {
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  bool any = false;
  for (const auto* curve : {&train, &eval})
    for (const CurvePoint& p : *curve) {
      if (!std::isfinite(p.loss)) continue;
      if (!any) x0 = x1 = double(p.step), y0 = y1 = p.loss, any = true;
      x0 = std::min(x0, double(p.step)), x1 = std::max(x1, double(p.step));
      y0 = std::min(y0, p.loss), y1 = std::max(y1, p.loss);
    }
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y0 -= 0.5, y1 += 0.5;
  // A little air above and below so the extreme points do not sit on the frame.
  const double pad = 0.04 * (y1 - y0);
  y0 = y0 >= 0 ? std::max(0.0, y0 - pad) : y0 - pad;
  y1 += pad;
  const std::vector<double> xt = nice_ticks(x0, x1, 8), yt = nice_ticks(y0, y1, 6);
  // Widen the ranges to the outer ticks so the curve never leaves the frame.
  x0 = std::min(x0, xt.front()), x1 = std::max(x1, xt.back());
  y0 = std::min(y0, yt.front()), y1 = std::max(y1, yt.back());
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  auto X = [&](double v) { return kLeft + (v - x0) / (x1 - x0) * pw; };
  auto Y = [&](double v) { return kTop + (1 - (v - y0) / (y1 - y0)) * ph; };

  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      kW, kH, kW, kH);
  std::string t;
  for (char c : title) t += c == '<' ? std::string("&lt;") : c == '&' ? std::string("&amp;") : std::string(1, c);
  s += fmt::format("<text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n", kW / 2, t);
  for (double v : xt) {
    const double x = X(v);
    s += fmt::format("<line class=\"xtick\" x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#ddd\"/>", x, kTop, x,
                     kTop + ph);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x, kTop + ph + 16, label(v));
  }
  for (double v : yt) {
    const double y = Y(v);
    s += fmt::format("<line class=\"ytick\" x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>", kLeft, y,
                     kLeft + pw, y);
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", kLeft - 6, y + 4, label(v));
  }
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"black\"/>\n", kLeft, kTop,
                   pw, ph);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">step</text>\n", kLeft + pw / 2, kH - 10);
  s += fmt::format("<text x=\"16\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {})\">loss</text>\n",
                   kTop + ph / 2, kTop + ph / 2);
  auto polyline = [&](const std::vector<CurvePoint>& c, const char* cls, const char* color) {
    if (c.empty()) return;
    s += fmt::format("<polyline class=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"", cls, color);
    bool first = true;
    for (const CurvePoint& p : c) {
      if (!std::isfinite(p.loss)) continue;
      s += fmt::format("{}{:.1f},{:.1f}", first ? "" : " ", X(double(p.step)), Y(p.loss));
      first = false;
    }
    s += "\"/>\n";
  };
  polyline(train, "train", "#1f77b4");
  polyline(eval, "eval", "#d62728");
  for (const CurvePoint& p : eval)
    if (std::isfinite(p.loss))
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"#d62728\"/>", X(double(p.step)), Y(p.loss));
  const double lx = kLeft + pw - 110;
  s += fmt::format("\n<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#1f77b4\" stroke-width=\"2\"/>", lx,
                   kTop + 14, lx + 20, kTop + 14);
  s += fmt::format("<text x=\"{}\" y=\"{}\">train</text>", lx + 26, kTop + 18);
  if (!eval.empty()) {
    s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#d62728\" stroke-width=\"2\"/>", lx,
                     kTop + 32, lx + 20, kTop + 32);
    s += fmt::format("<text x=\"{}\" y=\"{}\">eval</text>", lx + 26, kTop + 36);
  }
  s += "\n</svg>\n";
  return s;
}

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) fail("{}: cannot write", tmp);
    f.write(text.data(), std::streamsize(text.size()));
    if (!f) fail("{}: write failed", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail("{}: cannot rename into place: {}", path, ec.message());
}

void write_loss_svg(const std::string& path, const std::vector<CurvePoint>& train,
                    const std::vector<CurvePoint>& eval, const std::string& title) {
  write_file_atomic(path, render_loss_svg(train, eval, title));
}

}  // namespace sputnik::train
