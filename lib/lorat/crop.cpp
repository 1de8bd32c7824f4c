#include "crop.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "error.h"

namespace lorat {

namespace {

// Rounds a continuous interval outwards to whole pixels, as the authors' code does.
inline int floor_start(double v) { return int(std::floor(v)); }
inline int floor_end(double v) { return int(std::floor(v + 1 - 1e-4)); }

constexpr float kMean[3] = {0.485f, 0.456f, 0.406f};
constexpr float kStd[3] = {0.229f, 0.224f, 0.225f};

// Source index and weight of one output pixel of a bilinear resize, in float as LibTorch's
// upsample_bilinear2d computes them (align_corners false: half-pixel centres, clamped at 0).
struct Tap {
  int i0, i1;
  float w0, w1;
};

std::vector<Tap> taps(int in_size, int out_size) {
  std::vector<Tap> t(out_size);
  float scale = float(in_size) / float(out_size);
  for (int d = 0; d < out_size; ++d) {
    float src = scale * (float(d) + 0.5f) - 0.5f;
    if (src < 0) src = 0;
    int i0 = int(src);
    if (i0 > in_size - 1) i0 = in_size - 1;
    float l1 = std::min(std::max(src - float(i0), 0.0f), 1.0f);
    t[d] = {i0, i0 + (i0 < in_size - 1 ? 1 : 0), 1.0f - l1, l1};
  }
  return t;
}

void render(const ImageView& image, const CropPlan& plan, const double fill_rgb[3], float* out, bool normalise) {
  const int S = plan.size;
  const size_t plane = size_t(S) * S;
  float fill[3];
  for (int c = 0; c < 3; ++c) {
    fill[c] = float(fill_rgb[c]);
    if (normalise) fill[c] = (fill[c] / 255.0f - kMean[c]) / kStd[c];
    std::fill(out + c * plane, out + (c + 1) * plane, fill[c]);
  }
  const Rect& cr = plan.crop_rect;
  const Rect& fr = plan.frame_rect;
  if (cr.empty() || fr.empty()) return;
  std::vector<Tap> tx = taps(fr.width(), cr.width()), ty = taps(fr.height(), cr.height());
  // The source rows and columns of a crop row, converted to RGB once per row pair.
  std::vector<float> row0(size_t(fr.width()) * 3), row1(size_t(fr.width()) * 3);
  int have0 = -1, have1 = -1;
  auto load_row = [&](int y, std::vector<float>& row) {
    for (int x = 0; x < fr.width(); ++x) read_rgb(image, fr.x1 + x, fr.y1 + y, &row[size_t(x) * 3]);
  };
  for (int dy = 0; dy < cr.height(); ++dy) {
    const Tap& a = ty[dy];
    if (have0 != a.i0) {
      if (have1 == a.i0) std::swap(row0, row1), std::swap(have0, have1);
      else load_row(a.i0, row0), have0 = a.i0;
    }
    if (have1 != a.i1) load_row(a.i1, row1), have1 = a.i1;
    const int oy = cr.y1 + dy;
    for (int dx = 0; dx < cr.width(); ++dx) {
      const Tap& b = tx[dx];
      const int ox = cr.x1 + dx;
      for (int c = 0; c < 3; ++c) {
        float v00 = row0[size_t(b.i0) * 3 + c], v01 = row0[size_t(b.i1) * 3 + c];
        float v10 = row1[size_t(b.i0) * 3 + c], v11 = row1[size_t(b.i1) * 3 + c];
        float v = a.w0 * (b.w0 * v00 + b.w1 * v01) + a.w1 * (b.w0 * v10 + b.w1 * v11);
        if (normalise) v = (v / 255.0f - kMean[c]) / kStd[c];
        out[c * plane + size_t(oy) * S + ox] = v;
      }
    }
  }
}

}  // namespace

Box Transform::to_crop(const Box& b) const {
  return Box::from_corners(sx * b.x + tx, sy * b.y + ty, sx * b.x2() + tx, sy * b.y2() + ty);
}

Box Transform::to_frame(const Box& b) const {
  return Box::from_corners((b.x - tx) / sx, (b.y - ty) / sy, (b.x2() - tx) / sx, (b.y2() - ty) / sy);
}

CropPlan plan_crop(const Box& box, double f, int S, int W, int H) {
  if (!(box.w > 0 && box.h > 0) || !std::isfinite(box.x) || !std::isfinite(box.y))
    throw Error("cannot crop around an empty box (w and h must be positive)");
  if (W <= 0 || H <= 0 || S <= 0) throw Error("cannot crop from an empty frame");
  CropPlan plan;
  plan.size = S;
  double p = (f - 1) * (box.w + box.h) / 2;
  double s = std::sqrt(double(S) * S / ((box.w + p) * (box.h + p)));
  plan.ideal = {s, s, S / 2.0 - s * box.cx(), S / 2.0 - s * box.cy()};

  // The frame rectangle in the crop, clipped and rounded outwards.
  Box frame_in_crop = plan.ideal.to_crop(Box{0, 0, double(W), double(H)});
  double cx1 = std::clamp(frame_in_crop.x, 0.0, double(S)), cy1 = std::clamp(frame_in_crop.y, 0.0, double(S));
  double cx2 = std::clamp(frame_in_crop.x2(), 0.0, double(S)), cy2 = std::clamp(frame_in_crop.y2(), 0.0, double(S));
  Rect& cr = plan.crop_rect;
  cr = {floor_start(cx1), floor_start(cy1), floor_end(cx2), floor_end(cy2)};

  // Back into the frame, rounded outwards, clipped to it.
  Box back = plan.ideal.to_frame(Box::from_corners(cr.x1, cr.y1, cr.x2, cr.y2));
  Rect& fr = plan.frame_rect;
  fr = {std::clamp(floor_start(back.x), 0, W), std::clamp(floor_start(back.y), 0, H),
        std::clamp(floor_end(back.x2()), 0, W), std::clamp(floor_end(back.y2()), 0, H)};

  if (cr.empty() || fr.empty()) {
    // The frame does not reach the crop at all: nothing is resized and the ideal transform stands.
    plan.effective = plan.ideal;
    cr = fr = Rect{};
    return plan;
  }
  double esx = double(cr.width()) / fr.width(), esy = double(cr.height()) / fr.height();
  plan.effective = {esx, esy, cr.x1 - esx * fr.x1, cr.y1 - esy * fr.y1};
  return plan;
}

void render_crop(const ImageView& image, const CropPlan& plan, const double fill_rgb[3], float* out) {
  render(image, plan, fill_rgb, out, true);
}

void render_crop_raw(const ImageView& image, const CropPlan& plan, const double fill_rgb[3], float* out) {
  render(image, plan, fill_rgb, out, false);
}

Box enforce_min_size(const Box& b, double min_size) {
  double w = std::max(b.w, min_size), h = std::max(b.h, min_size);
  return {b.cx() - w / 2, b.cy() - h / 2, w, h};
}

Box clip_box(const Box& b, int W, int H) {
  double x1 = std::clamp(b.x, 0.0, double(W)), y1 = std::clamp(b.y, 0.0, double(H));
  double x2 = std::clamp(b.x2(), 0.0, double(W)), y2 = std::clamp(b.y2(), 0.0, double(H));
  return Box::from_corners(x1, y1, x2, y2);
}

void foreground_mask(const Box& box, const Transform& effective, int crop_size, int grid, int64_t* mask) {
  std::fill(mask, mask + size_t(grid) * grid, 0);
  Box c = effective.to_crop(box);
  double stride = double(crop_size) / grid;
  int x1 = std::clamp(floor_start(c.x / stride), 0, grid), y1 = std::clamp(floor_start(c.y / stride), 0, grid);
  int x2 = std::clamp(floor_end(c.x2() / stride), 0, grid), y2 = std::clamp(floor_end(c.y2() / stride), 0, grid);
  for (int y = y1; y < y2; ++y)
    for (int x = x1; x < x2; ++x) mask[size_t(y) * grid + x] = 1;
}

}  // namespace lorat
