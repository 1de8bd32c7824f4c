#include "schedule.h"

#include <algorithm>
#include <cmath>

namespace lorat {

double Schedule::lr_at(int64_t step) const {
  if (step < warmup_steps) return warmup_start + (base_lr - warmup_start) * double(step) / double(warmup_steps);
  const int64_t decay = std::max<int64_t>(1, total_steps - warmup_steps);
  const double progress = std::clamp(double(step - warmup_steps) / double(decay), 0.0, 1.0);
  return min_lr + (base_lr - min_lr) * 0.5 * (1 + std::cos(M_PI * progress));
}

}  // namespace lorat
