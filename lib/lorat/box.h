// Boxes in frame pixels: x, y, w, h, 0-based, continuous (pixel (0,0) covers [0,1) x [0,1)).
#pragma once

namespace lorat {

struct Box {
  double x = 0, y = 0, w = 0, h = 0;
  double x2() const { return x + w; }
  double y2() const { return y + h; }
  double cx() const { return x + w / 2; }
  double cy() const { return y + h / 2; }
  bool valid() const { return w > 0 && h > 0; }
  static Box from_corners(double x1, double y1, double x2, double y2) { return {x1, y1, x2 - x1, y2 - y1}; }
};

// Intersection over union; 0 when either box is empty.
double iou(const Box& a, const Box& b);

// `next`'s centre with a size part way from `previous`'s to `next`'s, in log space:
// w = previous.w^(1 - rate) * next.w^rate, and the same for h. `next` as it is when `previous` is
// empty or rate is 1.
Box blend_size(const Box& previous, const Box& next, double rate);

}  // namespace lorat
