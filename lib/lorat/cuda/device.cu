#include "lorat/cuda/device.h"

#include "lorat/cuda/cuda_check.h"

namespace lorat::cuda {

int device_count(const char** why) {
  int n = 0;
  cudaError_t status = cudaGetDeviceCount(&n);
  if (status != cudaSuccess) {
    if (why) *why = cudaGetErrorString(status);
    cudaGetLastError();  // the query's error must not stick to the next call
    return 0;
  }
  return n;
}

DeviceScope::DeviceScope(int device) {
  check(cudaGetDevice(&previous_), "cudaGetDevice");
  if (previous_ == device) previous_ = -1;  // nothing to switch, nothing to restore
  else check(cudaSetDevice(device), "cudaSetDevice");
}

DeviceScope::~DeviceScope() {
  if (previous_ >= 0) cudaSetDevice(previous_);  // a destructor must not throw
}

DeviceBuffer::~DeviceBuffer() {
  if (data_) cudaFree(data_);
}

void* DeviceBuffer::reserve(size_t bytes) {
  if (bytes <= capacity_) return data_;
  if (data_) check(cudaFree(data_), "cudaFree");
  data_ = nullptr;
  capacity_ = 0;
  // Some headroom, so a crop band that grows by a few rows does not reallocate every frame.
  size_t want = bytes + bytes / 4;
  check(cudaMalloc(&data_, want), "cudaMalloc");
  capacity_ = want;
  return data_;
}

}  // namespace lorat::cuda
