// Reading one pixel's colour: the byte layout of the packed formats and the YUV->RGB conversion.
// One definition for the CPU (image.cpp) and the CUDA crop kernel (cuda/crop_pixel.h), so both
// read a frame the same way; no CUDA headers: g++ compiles it as plain inline code.
#pragma once
#include "image.h"

#if defined(__CUDACC__)
#define LORAT_HD __host__ __device__ __forceinline__
#else
#define LORAT_HD inline
#endif

namespace lorat {

// Byte offsets of R, G, B within a pixel, and bytes per pixel, for the packed formats.
struct PackedLayout {
  int r, g, b, bytes;
};

LORAT_HD PackedLayout packed_layout(PixelFormat f) {
  switch (f) {
    case PixelFormat::RGB: return {0, 1, 2, 3};
    case PixelFormat::BGR: return {2, 1, 0, 3};
    case PixelFormat::RGBx:
    case PixelFormat::RGBA: return {0, 1, 2, 4};
    case PixelFormat::BGRx:
    case PixelFormat::BGRA: return {2, 1, 0, 4};
    case PixelFormat::xRGB:
    case PixelFormat::ARGB: return {1, 2, 3, 4};
    case PixelFormat::xBGR:
    case PixelFormat::ABGR: return {3, 2, 1, 4};
    default: return {0, 0, 0, 0};
  }
}

LORAT_HD float clamp255(float v) { return v < 0 ? 0 : (v > 255 ? 255 : v); }

// BT.601 limited range, the colorimetry GStreamer assumes for SD YUV without other information.
LORAT_HD void yuv_to_rgb(int y, int u, int v, float rgb[3]) {
  float c = 1.164383f * float(y - 16), d = float(u - 128), e = float(v - 128);
  rgb[0] = clamp255(c + 1.596027f * e);
  rgb[1] = clamp255(c - 0.391762f * d - 0.812968f * e);
  rgb[2] = clamp255(c + 2.017232f * d);
}

}  // namespace lorat
