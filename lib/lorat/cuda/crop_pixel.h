// The arithmetic of one output pixel of a crop (fill colour, bilinear resize, YUV->RGB, ImageNet
// normalisation), written once for the CUDA kernel and the CPU: the kernel is a grid loop over
// crop_pixel(), and the tests check crop_pixel() against render_crop (crop.cpp) on any machine.
// The colour of a pixel comes from pixel.h, as in image.cpp; the row indexing of read_rgb and
// crop.cpp's taps are repeated operation for operation (same float expressions in the same
// order), so the results are bit-identical; test_cuda_crop guards that.
// No CUDA headers: g++ compiles it as plain inline code.
#pragma once
#include <cstdint>

#include "lorat/crop.h"
#include "lorat/image.h"
#include "lorat/pixel.h"

namespace lorat::cuda {

// A frame as the kernel reads it: an ImageView's planes (device or host memory). Plane rows are
// counted from first_row (even, so chroma rows stay aligned): only the band of rows the crops
// read needs to be on the device.
struct FrameDesc {
  PixelFormat format = PixelFormat::RGB;
  int width = 0, height = 0;
  const uint8_t* planes[3] = {nullptr, nullptr, nullptr};
  int strides[3] = {0, 0, 0};
  int first_row = 0;
};

// One target's crop: CropPlan's rectangles (plain ints: Rect's methods are host-only) and the
// normalised fill colour.
struct CropJob {
  int crop_x1 = 0, crop_y1 = 0, crop_x2 = 0, crop_y2 = 0;
  int frame_x1 = 0, frame_y1 = 0, frame_x2 = 0, frame_y2 = 0;
  float fill[3] = {0, 0, 0};
};

// ImageNet statistics as functions: constexpr arrays cannot be read from device code.
LORAT_HD float imagenet_mean(int c) { return c == 0 ? 0.485f : (c == 1 ? 0.456f : 0.406f); }
LORAT_HD float imagenet_std(int c) { return c == 0 ? 0.229f : (c == 1 ? 0.224f : 0.225f); }
LORAT_HD float normalise(float v, int c) { return (v / 255.0f - imagenet_mean(c)) / imagenet_std(c); }

// RGB of frame pixel (x, y), 0..255, as image.cpp's read_rgb reads it.
LORAT_HD void read_rgb(const FrameDesc& f, int x, int y, float rgb[3]) {
  const int row = y - f.first_row, chroma_row = y / 2 - f.first_row / 2;
  switch (f.format) {
    case PixelFormat::GRAY8: {
      float g = f.planes[0][size_t(row) * f.strides[0] + x];
      rgb[0] = rgb[1] = rgb[2] = g;
      return;
    }
    case PixelFormat::I420: {
      int luma = f.planes[0][size_t(row) * f.strides[0] + x];
      int u = f.planes[1][size_t(chroma_row) * f.strides[1] + x / 2];
      int v = f.planes[2][size_t(chroma_row) * f.strides[2] + x / 2];
      yuv_to_rgb(luma, u, v, rgb);
      return;
    }
    case PixelFormat::NV12: {
      int luma = f.planes[0][size_t(row) * f.strides[0] + x];
      const uint8_t* uv = f.planes[1] + size_t(chroma_row) * f.strides[1] + (x / 2) * 2;
      yuv_to_rgb(luma, uv[0], uv[1], rgb);
      return;
    }
    default: break;
  }
  const PackedLayout p = packed_layout(f.format);
  const uint8_t* px = f.planes[0] + size_t(row) * f.strides[0] + size_t(x) * p.bytes;
  rgb[0] = px[p.r];
  rgb[1] = px[p.g];
  rgb[2] = px[p.b];
}

// Source index and weight of output index d of a bilinear resize from in_size to out_size, as
// crop.cpp's taps() (LibTorch's upsample_bilinear2d, align_corners false) computes them.
struct Tap {
  int i0, i1;
  float w0, w1;
};
LORAT_HD Tap bilinear_tap(int d, int in_size, int out_size) {
  float scale = float(in_size) / float(out_size);
  float src = scale * (float(d) + 0.5f) - 0.5f;
  if (src < 0) src = 0;
  int i0 = int(src);
  if (i0 > in_size - 1) i0 = in_size - 1;
  float l1 = src - float(i0);
  l1 = l1 < 0.0f ? 0.0f : (l1 > 1.0f ? 1.0f : l1);
  return {i0, i0 + (i0 < in_size - 1 ? 1 : 0), 1.0f - l1, l1};
}

// The normalised RGB of crop pixel (ox, oy) (0 <= ox, oy < S): the fill colour outside crop_rect,
// else the bilinear resize of frame_rect onto crop_rect.
LORAT_HD void crop_pixel(const FrameDesc& f, const CropJob& j, int ox, int oy, float out[3]) {
  const bool empty = j.crop_x2 <= j.crop_x1 || j.crop_y2 <= j.crop_y1 || j.frame_x2 <= j.frame_x1 || j.frame_y2 <= j.frame_y1;
  if (empty || ox < j.crop_x1 || ox >= j.crop_x2 || oy < j.crop_y1 || oy >= j.crop_y2) {
    out[0] = j.fill[0], out[1] = j.fill[1], out[2] = j.fill[2];
    return;
  }
  const Tap a = bilinear_tap(oy - j.crop_y1, j.frame_y2 - j.frame_y1, j.crop_y2 - j.crop_y1);
  const Tap b = bilinear_tap(ox - j.crop_x1, j.frame_x2 - j.frame_x1, j.crop_x2 - j.crop_x1);
  float p00[3], p01[3], p10[3], p11[3];
  read_rgb(f, j.frame_x1 + b.i0, j.frame_y1 + a.i0, p00);
  read_rgb(f, j.frame_x1 + b.i1, j.frame_y1 + a.i0, p01);
  read_rgb(f, j.frame_x1 + b.i0, j.frame_y1 + a.i1, p10);
  read_rgb(f, j.frame_x1 + b.i1, j.frame_y1 + a.i1, p11);
  for (int c = 0; c < 3; ++c) {
    float v = a.w0 * (b.w0 * p00[c] + b.w1 * p01[c]) + a.w1 * (b.w0 * p10[c] + b.w1 * p11[c]);
    out[c] = normalise(v, c);
  }
}

// Host side: the job of a plan (fill RGB 0..255, as render_crop takes it) and the description of
// a host frame.
inline CropJob make_crop_job(const CropPlan& plan, const double fill_rgb[3]) {
  CropJob j;
  j.crop_x1 = plan.crop_rect.x1, j.crop_y1 = plan.crop_rect.y1, j.crop_x2 = plan.crop_rect.x2, j.crop_y2 = plan.crop_rect.y2;
  j.frame_x1 = plan.frame_rect.x1, j.frame_y1 = plan.frame_rect.y1, j.frame_x2 = plan.frame_rect.x2, j.frame_y2 = plan.frame_rect.y2;
  for (int c = 0; c < 3; ++c) j.fill[c] = normalise(float(fill_rgb[c]), c);
  return j;
}

inline FrameDesc host_frame(const ImageView& image) {
  FrameDesc f;
  f.format = image.format;
  f.width = image.width, f.height = image.height;
  for (int p = 0; p < 3; ++p) f.planes[p] = image.planes[p], f.strides[p] = image.strides[p];
  return f;
}

}  // namespace lorat::cuda
