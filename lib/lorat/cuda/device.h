// CUDA device plumbing without CUDA headers (plain pointers, ints), so torch and GStreamer code can
// include it cheaply: how many devices there are, which one is current, and device memory that
// grows and is reused from frame to frame. Errors become lorat::Error with CUDA's message.
#pragma once
#include <cstddef>

namespace lorat::cuda {

// Number of CUDA devices; 0 when there is none, no driver, or the driver is too old. Never throws.
// why (optional) gets CUDA's message when the query itself failed.
int device_count(const char** why = nullptr);

// Makes `device` current for its lifetime and restores the previous one (torch tensors may live on
// a device that is not the current one).
class DeviceScope {
 public:
  explicit DeviceScope(int device);
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = -1;
};

// A device allocation that only grows: reserve() reallocates (contents lost) when asked for more.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* reserve(size_t bytes);
  size_t capacity() const { return capacity_; }

 private:
  void* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace lorat::cuda
