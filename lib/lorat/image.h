// A plain view of one video frame in memory: no GStreamer or OpenCV types, so the tracker can be
// fed from any source. Only the pixels that are sampled are read.
#pragma once
#include <cstdint>
#include <string>

namespace lorat {

enum class PixelFormat { RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, I420, NV12, GRAY8 };

// Parses names like "RGB", "BGRx", "I420" (the GStreamer format names); throws lorat::Error.
PixelFormat pixel_format_from_name(const std::string& name);
const char* pixel_format_name(PixelFormat format);

struct ImageView {
  PixelFormat format = PixelFormat::RGB;
  int width = 0, height = 0;
  // Packed formats use plane 0. I420: Y, U, V. NV12: Y, interleaved UV.
  const uint8_t* planes[3] = {nullptr, nullptr, nullptr};
  int strides[3] = {0, 0, 0};  // bytes per row of each plane

  // A packed RGB/BGR/... view over one buffer.
  static ImageView packed(PixelFormat format, const uint8_t* data, int width, int height, int stride);
  // Throws lorat::Error when sizes, strides or planes are missing or inconsistent.
  void validate() const;
};

// RGB of the pixel (x, y), each 0..255, as floats. No bounds check: callers clamp.
void read_rgb(const ImageView& image, int x, int y, float rgb[3]);

// Per-channel mean (R, G, B) over the whole frame, 0..255: the crop fill colour of the spec.
void mean_rgb(const ImageView& image, double rgb[3]);

}  // namespace lorat
