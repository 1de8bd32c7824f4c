// Copies a frame to the GPU once per frame, for the crop kernel: only the band of rows the crops
// read (never more than the whole frame), each plane's rows packed tight (host stride padding is
// not copied), into one device buffer reused from frame to frame. No CUDA headers.
#pragma once
#include <cstddef>

#include "lorat/cuda/crop_pixel.h"
#include "lorat/cuda/device.h"
#include "lorat/image.h"

namespace lorat::cuda {

class FrameUpload {
 public:
  // Uploads the rows of `frame` that the n jobs read, on `stream` (a cudaStream_t; nullptr: the
  // legacy default stream, which LibTorch's default stream is), on the current device. Returns the
  // frame over device memory, valid until the next upload. The host frame may be released as soon
  // as this returns. Throws lorat::Error for a bad frame or a failed CUDA call.
  FrameDesc upload(const ImageView& frame, const CropJob* jobs, int n, void* stream);

  size_t last_bytes() const { return last_bytes_; }  // what the last upload copied
  int last_rows() const { return last_rows_; }       // luma rows it copied

 private:
  DeviceBuffer buffer_;
  size_t last_bytes_ = 0;
  int last_rows_ = 0;
};

}  // namespace lorat::cuda
