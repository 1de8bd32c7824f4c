// The search (or template) crops of all targets of a frame in one kernel launch, written straight
// into the model's input tensor (n, 3, S, S) in the model's dtype. Each output pixel is
// crop_pixel() of crop_pixel.h, the arithmetic of render_crop. No CUDA headers: plain pointers, the
// stream as void*.
#pragma once
#include "lorat/cuda/crop_pixel.h"
#include "lorat/cuda/device.h"

namespace lorat::cuda {

enum class OutputType { Float32, Float16, BFloat16 };

class CropLauncher {
 public:
  // Renders the n jobs' S x S crops from `frame` (device memory, from FrameUpload) into `out`
  // (device memory, n * 3 * S * S elements of `type`, contiguous), on `stream` (a cudaStream_t;
  // nullptr: the legacy default stream) and the current device. Asynchronous: it returns after the
  // launch. Throws lorat::Error for bad arguments or a failed CUDA call.
  void launch(const FrameDesc& frame, const CropJob* jobs, int n, int size, OutputType type, void* out, void* stream);

 private:
  DeviceBuffer jobs_;  // the jobs, copied to the device for each launch
};

}  // namespace lorat::cuda
