// Drawing straight into a mapped video frame in its own format (packed RGB family, I420, NV12,
// GRAY8): rectangles, dashed rectangles, and short numbers in a small bitmap font.
#pragma once
#include <gst/video/video.h>

#include <string>

namespace lorat_gst {

struct Rgb {
  uint8_t r, g, b;
};

class Painter {
 public:
  explicit Painter(GstVideoFrame* frame);
  void pixel(int x, int y, Rgb c);
  // A rectangle outline `thickness` pixels wide; dashed draws every other 6-pixel run.
  void rectangle(int x, int y, int w, int h, Rgb c, int thickness, bool dashed);
  void fill(int x, int y, int w, int h, Rgb c);
  // Digits, '.', ':' and '-' at (x, y) (top-left), each glyph 3x5 cells of `scale` pixels.
  void text(int x, int y, const std::string& s, Rgb c, int scale);
  static int text_width(const std::string& s, int scale) { return int(s.size()) * 4 * scale; }

 private:
  GstVideoFrame* frame_;
  int width_, height_;
  GstVideoFormat format_;
};

}  // namespace lorat_gst
