#include "lorat/cuda/crop_kernels.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <string>

#include "lorat/cuda/cuda_check.h"

namespace lorat::cuda {

namespace {

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) { return v; }
template <>
__device__ __forceinline__ __half from_float<__half>(float v) { return __float2half_rn(v); }
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// One thread per output pixel of every crop (grid-stride, so any grid size is correct); the three
// channels of a pixel go to three planes, each written coalesced along x.
template <typename T>
__global__ void crop_kernel(FrameDesc frame, const CropJob* __restrict__ jobs, int n, int size, T* __restrict__ out) {
  const long long plane = (long long)size * size, total = plane * n;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
    const int k = int(i / plane);
    const long long in_plane = i - k * plane;
    const int y = int(in_plane / size), x = int(in_plane - (long long)y * size);
    float rgb[3];
    crop_pixel(frame, jobs[k], x, y, rgb);
    T* o = out + 3 * plane * k + in_plane;
    o[0] = from_float<T>(rgb[0]);
    o[plane] = from_float<T>(rgb[1]);
    o[2 * plane] = from_float<T>(rgb[2]);
  }
}

}  // namespace

void CropLauncher::launch(const FrameDesc& frame, const CropJob* jobs, int n, int size, OutputType type, void* out, void* stream) {
  if (n <= 0) return;
  if (size <= 0 || !out || !jobs) throw Error("crop kernel: bad arguments (" + std::to_string(n) + " crops of " + std::to_string(size) + " px)");
  auto s = static_cast<cudaStream_t>(stream);
  auto* device_jobs = static_cast<CropJob*>(jobs_.reserve(sizeof(CropJob) * n));
  check(cudaMemcpyAsync(device_jobs, jobs, sizeof(CropJob) * n, cudaMemcpyHostToDevice, s), "cudaMemcpyAsync (crop jobs)");
  const long long total = (long long)size * size * n;
  const int threads = 256;
  const unsigned blocks = unsigned((total + threads - 1) / threads);
  switch (type) {
    case OutputType::Float32: crop_kernel<<<blocks, threads, 0, s>>>(frame, device_jobs, n, size, static_cast<float*>(out)); break;
    case OutputType::Float16: crop_kernel<<<blocks, threads, 0, s>>>(frame, device_jobs, n, size, static_cast<__half*>(out)); break;
    case OutputType::BFloat16:
      crop_kernel<<<blocks, threads, 0, s>>>(frame, device_jobs, n, size, static_cast<__nv_bfloat16*>(out));
      break;
  }
  check(cudaGetLastError(), "crop kernel launch");
}

}  // namespace lorat::cuda
