#include "lorat/cuda/frame_upload.h"

#include <algorithm>

#include "lorat/cuda/cuda_check.h"

namespace lorat::cuda {

namespace {

// Bytes of one row of plane p that read_rgb can touch.
size_t row_bytes(const ImageView& f, int p) {
  const size_t half = size_t(f.width + 1) / 2;
  switch (f.format) {
    case PixelFormat::GRAY8: return size_t(f.width);
    case PixelFormat::I420: return p == 0 ? size_t(f.width) : half;
    case PixelFormat::NV12: return p == 0 ? size_t(f.width) : 2 * half;
    case PixelFormat::RGB:
    case PixelFormat::BGR: return size_t(f.width) * 3;
    default: return size_t(f.width) * 4;
  }
}

int plane_count(PixelFormat format) {
  return format == PixelFormat::I420 ? 3 : (format == PixelFormat::NV12 ? 2 : 1);
}

size_t align256(size_t v) { return (v + 255) / 256 * 256; }

}  // namespace

FrameDesc FrameUpload::upload(const ImageView& frame, const CropJob* jobs, int n, void* stream) {
  frame.validate();
  // The band of luma rows the crops read: the union of their frame rectangles' rows.
  int y0 = frame.height, y1 = 0;
  for (int k = 0; k < n; ++k) {
    const CropJob& j = jobs[k];
    if (j.crop_x2 <= j.crop_x1 || j.crop_y2 <= j.crop_y1 || j.frame_x2 <= j.frame_x1 || j.frame_y2 <= j.frame_y1) continue;
    y0 = std::min(y0, std::max(j.frame_y1, 0));
    y1 = std::max(y1, std::min(j.frame_y2, frame.height));
  }
  FrameDesc d;
  d.format = frame.format;
  d.width = frame.width, d.height = frame.height;
  last_bytes_ = 0;
  last_rows_ = 0;
  if (y1 <= y0) return d;  // every crop is all fill colour: the kernel reads no pixel
  d.first_row = y0 & ~1;   // even, so chroma row y/2 - first_row/2 is the band's own row
  const int planes = plane_count(frame.format);
  int rows[3];
  size_t offsets[3], total = 0;
  for (int p = 0; p < planes; ++p) {
    const bool chroma = p > 0;
    const int first = chroma ? d.first_row / 2 : d.first_row;
    const int last = chroma ? (y1 - 1) / 2 : y1 - 1;  // inclusive
    rows[p] = last - first + 1;
    d.strides[p] = int(row_bytes(frame, p));
    offsets[p] = total;
    total = align256(total + size_t(rows[p]) * d.strides[p]);
  }
  auto* base = static_cast<uint8_t*>(buffer_.reserve(total));
  auto s = static_cast<cudaStream_t>(stream);
  for (int p = 0; p < planes; ++p) {
    const int first = p > 0 ? d.first_row / 2 : d.first_row;
    const uint8_t* src = frame.planes[p] + size_t(first) * frame.strides[p];
    check(cudaMemcpy2DAsync(base + offsets[p], d.strides[p], src, frame.strides[p], d.strides[p], rows[p], cudaMemcpyHostToDevice, s),
          "cudaMemcpy2DAsync (frame upload)");
    d.planes[p] = base + offsets[p];
    last_bytes_ += size_t(rows[p]) * d.strides[p];
  }
  last_rows_ = y1 - d.first_row;
  return d;
}

}  // namespace lorat::cuda
