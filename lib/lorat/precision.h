// "auto" precision: the number format that runs a model fastest on this machine without changing
// its boxes beyond what the format's rounding does.
#pragma once
#include <string>

namespace lorat {

struct CpuFeatures {
  bool avx512_bf16 = false;  // AVX512-BF16 dot products
  bool amx_bf16 = false;     // AMX tiles with bf16, enabled by the OS
};
CpuFeatures cpu_features();

// "fp16" on CUDA. On a CPU "bf16" where it has AVX512-BF16 or AMX and a bf16 matrix product
// measured here beats fp32 (the LibTorch build must use them too), else "fp32". The measurement
// runs once per process.
std::string auto_precision(bool cuda);

// CPU autocast, to bf16 or off, for a scope; the previous setting comes back on leaving it
// (exceptions included), and leaving the outermost scope drops autocast's cached bf16 weights.
class ScopedCpuAutocast {
 public:
  explicit ScopedCpuAutocast(bool bf16);
  ~ScopedCpuAutocast();
  ScopedCpuAutocast(const ScopedCpuAutocast&) = delete;
  ScopedCpuAutocast& operator=(const ScopedCpuAutocast&) = delete;

 private:
  bool was_enabled_;
};

}  // namespace lorat
