#include "precision.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

#include <chrono>
#include <mutex>

namespace lorat {

CpuFeatures cpu_features() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return f;  // no OSXSAVE: no extended state
  unsigned lo = 0, hi = 0;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  const bool avx512_state = (lo & 0xE6) == 0xE6;               // XMM, YMM, opmask, ZMM state
  const bool amx_state = (lo & (3u << 17)) == (3u << 17);      // TILECFG, TILEDATA
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) f.amx_bf16 = amx_state && (d & (1u << 22));
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avx512_bf16 = avx512_state && (a & (1u << 5));
#endif  // other CPUs: no bf16 detection yet, so auto stays fp32
  return f;
}

namespace {

// Seconds for the best of a few products of a typical ViT shape (tokens x width x width).
double matmul_seconds(at::ScalarType dtype) {
  auto x = at::randn({256, 768}).to(dtype), w = at::randn({768, 768}).to(dtype);
  double best = 1e30;
  for (int i = 0; i < 4; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto y = at::matmul(x, w);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

std::string auto_precision(bool cuda) {
  if (cuda) return "fp16";
  static std::once_flag once;
  static std::string cpu = "fp32";
  std::call_once(once, [] {
    CpuFeatures f = cpu_features();
    // Without the instructions a bf16 product is emulated, ~50x slower here: not worth timing.
    if ((f.avx512_bf16 || f.amx_bf16) && matmul_seconds(at::kBFloat16) < 0.8 * matmul_seconds(at::kFloat)) cpu = "bf16";
  });
  return cpu;
}

ScopedCpuAutocast::ScopedCpuAutocast(bool bf16) : was_enabled_(at::autocast::is_cpu_enabled()) {
  at::autocast::increment_nesting();
  if (bf16) at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  at::autocast::set_cpu_enabled(bf16);
}

// Autocast keeps the bf16 copy of each weight it casts until its cache is cleared. Without this,
// every training step's forward ran on the bf16 weights of the first step while the optimizer moved
// the fp32 ones blindly (Python's autocast clears the cache on leaving the outermost scope too).
ScopedCpuAutocast::~ScopedCpuAutocast() {
  at::autocast::set_cpu_enabled(was_enabled_);
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
}

}  // namespace lorat
