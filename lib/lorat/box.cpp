#include "box.h"

#include <algorithm>

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

}  // namespace lorat
