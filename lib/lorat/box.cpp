#include "box.h"

#include <algorithm>
#include <cmath>

namespace lorat {

double iou(const Box& a, const Box& b) {
  // Empty or NaN boxes (invalid ground truth) overlap nothing.
  if (!a.valid() || !b.valid()) return 0.0;
  double w = std::min(a.x2(), b.x2()) - std::max(a.x, b.x);
  double h = std::min(a.y2(), b.y2()) - std::max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0.0;
  double inter = w * h;
  return inter / (a.w * a.h + b.w * b.h - inter);
}

Box blend_size(const Box& previous, const Box& next, double rate) {
  if (rate == 1 || !previous.valid()) return next;
  double w = std::pow(previous.w, 1 - rate) * std::pow(next.w, rate);
  double h = std::pow(previous.h, 1 - rate) * std::pow(next.h, rate);
  return {next.cx() - w / 2, next.cy() - h / 2, w, h};
}

}  // namespace lorat
