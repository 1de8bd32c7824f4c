// For the .cu files only: a failed CUDA call becomes a lorat::Error naming the call and CUDA's
// message, so callers see one exception type whatever went wrong.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "lorat/error.h"

namespace lorat::cuda {

inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw Error(std::string("CUDA: ") + what + " failed: " + cudaGetErrorString(status));
}

}  // namespace lorat::cuda
