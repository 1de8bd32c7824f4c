// The learning-rate schedule of the spec: linear warm-up from warmup_start, then a cosine decay
// to min_lr, evaluated per iteration.
#pragma once
#include <cstdint>

namespace lorat {

struct Schedule {
  double base_lr = 1e-4;
  double warmup_start = 1e-7;
  double min_lr = 1e-6;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double lr_at(int64_t step) const;  // step 0 .. total_steps - 1
};

}  // namespace lorat
