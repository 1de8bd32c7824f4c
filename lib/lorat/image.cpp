#include "image.h"

#include <algorithm>
#include <cstring>

#include "error.h"
#include "pixel.h"

namespace lorat {

namespace {

struct FormatName {
  PixelFormat format;
  const char* name;
};
constexpr FormatName kFormats[] = {
    {PixelFormat::RGB, "RGB"},   {PixelFormat::BGR, "BGR"},   {PixelFormat::RGBx, "RGBx"},
    {PixelFormat::BGRx, "BGRx"}, {PixelFormat::xRGB, "xRGB"}, {PixelFormat::xBGR, "xBGR"},
    {PixelFormat::RGBA, "RGBA"}, {PixelFormat::BGRA, "BGRA"}, {PixelFormat::ARGB, "ARGB"},
    {PixelFormat::ABGR, "ABGR"}, {PixelFormat::I420, "I420"}, {PixelFormat::NV12, "NV12"},
    {PixelFormat::GRAY8, "GRAY8"},
};

}  // namespace

PixelFormat pixel_format_from_name(const std::string& name) {
  for (const auto& f : kFormats)
    if (name == f.name) return f.format;
  throw Error("unsupported pixel format \"" + name + "\" (RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, I420, NV12, GRAY8)");
}

const char* pixel_format_name(PixelFormat format) {
  for (const auto& f : kFormats)
    if (format == f.format) return f.name;
  return "?";
}

ImageView ImageView::packed(PixelFormat format, const uint8_t* data, int width, int height, int stride) {
  ImageView v;
  v.format = format;
  v.width = width;
  v.height = height;
  v.planes[0] = data;
  v.strides[0] = stride;
  return v;
}

void ImageView::validate() const {
  if (width <= 0 || height <= 0) throw Error("image has no pixels (" + std::to_string(width) + "x" + std::to_string(height) + ")");
  int min_stride = width;
  if (format != PixelFormat::I420 && format != PixelFormat::NV12 && format != PixelFormat::GRAY8)
    min_stride = width * packed_layout(format).bytes;
  if (!planes[0] || strides[0] < min_stride) throw Error(std::string(pixel_format_name(format)) + " image: plane 0 is missing or its stride is too small");
  if (format == PixelFormat::I420 && (!planes[1] || !planes[2] || strides[1] < (width + 1) / 2 || strides[2] < (width + 1) / 2))
    throw Error("I420 image: the U and V planes are missing or their strides are too small");
  if (format == PixelFormat::NV12 && (!planes[1] || strides[1] < 2 * ((width + 1) / 2)))
    throw Error("NV12 image: the UV plane is missing or its stride is too small");
}

void read_rgb(const ImageView& im, int x, int y, float rgb[3]) {
  switch (im.format) {
    case PixelFormat::GRAY8: {
      float g = im.planes[0][size_t(y) * im.strides[0] + x];
      rgb[0] = rgb[1] = rgb[2] = g;
      return;
    }
    case PixelFormat::I420: {
      int luma = im.planes[0][size_t(y) * im.strides[0] + x];
      int u = im.planes[1][size_t(y / 2) * im.strides[1] + x / 2];
      int v = im.planes[2][size_t(y / 2) * im.strides[2] + x / 2];
      yuv_to_rgb(luma, u, v, rgb);
      return;
    }
    case PixelFormat::NV12: {
      int luma = im.planes[0][size_t(y) * im.strides[0] + x];
      const uint8_t* uv = im.planes[1] + size_t(y / 2) * im.strides[1] + (x / 2) * 2;
      yuv_to_rgb(luma, uv[0], uv[1], rgb);
      return;
    }
    default: {
      PackedLayout p = packed_layout(im.format);
      const uint8_t* px = im.planes[0] + size_t(y) * im.strides[0] + size_t(x) * p.bytes;
      rgb[0] = px[p.r];
      rgb[1] = px[p.g];
      rgb[2] = px[p.b];
      return;
    }
  }
}

void mean_rgb(const ImageView& im, double out[3]) {
  double sum[3] = {0, 0, 0};
  float rgb[3];
  for (int y = 0; y < im.height; ++y) {
    double row[3] = {0, 0, 0};
    for (int x = 0; x < im.width; ++x) {
      read_rgb(im, x, y, rgb);
      row[0] += rgb[0];
      row[1] += rgb[1];
      row[2] += rgb[2];
    }
    for (int c = 0; c < 3; ++c) sum[c] += row[c];
  }
  double n = double(im.width) * im.height;
  for (int c = 0; c < 3; ++c) out[c] = sum[c] / n;
}

}  // namespace lorat
