#include "draw.h"

#include <algorithm>

namespace lorat_gst {

namespace {

// 3x5 glyphs, one row per 3 bits (bit 2 = left column).
struct Glyph {
  char c;
  uint8_t rows[5];
};
constexpr Glyph kGlyphs[] = {
    {'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}}, {'2', {7, 1, 7, 4, 7}}, {'3', {7, 1, 7, 1, 7}},
    {'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 7, 1, 7}}, {'6', {7, 4, 7, 5, 7}}, {'7', {7, 1, 1, 1, 1}},
    {'8', {7, 5, 7, 5, 7}}, {'9', {7, 5, 7, 1, 7}}, {'.', {0, 0, 0, 0, 2}}, {':', {0, 2, 0, 2, 0}},
    {'-', {0, 0, 7, 0, 0}}, {'#', {5, 7, 5, 7, 5}},
};

// BT.601 limited range, the inverse of what the tracker reads.
void to_yuv(Rgb c, uint8_t& y, uint8_t& u, uint8_t& v) {
  auto clamp = [](double x) { return uint8_t(std::clamp(x + 0.5, 0.0, 255.0)); };
  y = clamp(16 + 0.256788 * c.r + 0.504129 * c.g + 0.097906 * c.b);
  u = clamp(128 - 0.148223 * c.r - 0.290993 * c.g + 0.439216 * c.b);
  v = clamp(128 + 0.439216 * c.r - 0.367788 * c.g - 0.071427 * c.b);
}

}  // namespace

Painter::Painter(GstVideoFrame* frame)
    : frame_(frame), width_(GST_VIDEO_FRAME_WIDTH(frame)), height_(GST_VIDEO_FRAME_HEIGHT(frame)), format_(GST_VIDEO_FRAME_FORMAT(frame)) {}

void Painter::pixel(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  auto plane = [&](int i) { return static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(frame_, i)); };
  auto stride = [&](int i) { return GST_VIDEO_FRAME_PLANE_STRIDE(frame_, i); };
  uint8_t yy, u, v;
  switch (format_) {
    case GST_VIDEO_FORMAT_GRAY8:
      to_yuv(c, yy, u, v);
      plane(0)[y * stride(0) + x] = uint8_t(std::clamp((int(yy) - 16) * 255 / 219, 0, 255));
      return;
    case GST_VIDEO_FORMAT_I420:
      to_yuv(c, yy, u, v);
      plane(0)[y * stride(0) + x] = yy;
      plane(1)[(y / 2) * stride(1) + x / 2] = u;
      plane(2)[(y / 2) * stride(2) + x / 2] = v;
      return;
    case GST_VIDEO_FORMAT_NV12:
      to_yuv(c, yy, u, v);
      plane(0)[y * stride(0) + x] = yy;
      plane(1)[(y / 2) * stride(1) + (x / 2) * 2] = u;
      plane(1)[(y / 2) * stride(1) + (x / 2) * 2 + 1] = v;
      return;
    default: {
      const GstVideoFormatInfo* info = frame_->info.finfo;
      uint8_t* p = plane(0) + y * stride(0) + x * GST_VIDEO_FORMAT_INFO_PSTRIDE(info, 0);
      p[GST_VIDEO_FORMAT_INFO_POFFSET(info, 0)] = c.r;
      p[GST_VIDEO_FORMAT_INFO_POFFSET(info, 1)] = c.g;
      p[GST_VIDEO_FORMAT_INFO_POFFSET(info, 2)] = c.b;
    }
  }
}

void Painter::fill(int x, int y, int w, int h, Rgb c) {
  for (int j = std::max(0, y); j < std::min(height_, y + h); ++j)
    for (int i = std::max(0, x); i < std::min(width_, x + w); ++i) pixel(i, j, c);
}

void Painter::rectangle(int x, int y, int w, int h, Rgb c, int t, bool dashed) {
  auto on = [&](long along) { return !dashed || (along / 6) % 2 == 0; };
  // Loops run over the visible part only: a huge box costs no more than the frame.
  const long x1 = x, y1 = y, x2 = long(x) + w, y2 = long(y) + h;
  const long cx1 = std::max(0L, x1), cx2 = std::min<long>(width_, x2), cy1 = std::max(0L, y1), cy2 = std::min<long>(height_, y2);
  for (int k = 0; k < t; ++k) {
    for (long i = cx1; i < cx2; ++i) {
      if (!on(i - x1)) continue;
      if (y1 + k >= 0 && y1 + k < height_) pixel(int(i), int(y1 + k), c);
      if (y2 - 1 - k >= 0 && y2 - 1 - k < height_) pixel(int(i), int(y2 - 1 - k), c);
    }
    for (long j = cy1; j < cy2; ++j) {
      if (!on(j - y1)) continue;
      if (x1 + k >= 0 && x1 + k < width_) pixel(int(x1 + k), int(j), c);
      if (x2 - 1 - k >= 0 && x2 - 1 - k < width_) pixel(int(x2 - 1 - k), int(j), c);
    }
  }
}

void Painter::text(int x, int y, const std::string& s, Rgb c, int scale) {
  for (size_t n = 0; n < s.size(); ++n) {
    const Glyph* g = nullptr;
    for (const auto& candidate : kGlyphs)
      if (candidate.c == s[n]) g = &candidate;
    if (!g) continue;
    for (int row = 0; row < 5; ++row)
      for (int col = 0; col < 3; ++col)
        if (g->rows[row] & (4 >> col)) fill(x + int(n) * 4 * scale + col * scale, y + row * scale, scale, scale, c);
  }
}

}  // namespace lorat_gst
