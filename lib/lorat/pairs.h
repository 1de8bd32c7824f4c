// Training pairs of the spec: a template and a search frame of one sequence (at most max_gap
// frames apart), the search crop jittered in scale and centre, flips, colour jitter and one of
// grayscale / solarise / blur; optionally both frames stretched sideways, so that the target's shape
// varies more than the data's. Every pair is a pure function of (seed, index), so a resumed run
// sees the same data as one that never stopped.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "config.h"
#include "datasets.h"

namespace lorat {

struct PairOptions {
  int max_gap = 100;
  double scale_jitter = 0.25;   // log-normal sigma of the search box size
  double centre_jitter = 3.0;   // centre shift up to this many sqrt(w*h) (uniform, +-half)
  double min_object_px = 10;    // objects smaller than this in the search crop are resampled
  double flip = 0.5;
  double colour_jitter = 0.4;   // brightness, contrast, saturation factors in [1 - j, 1 + j]
  double effect_prob = 1.0;     // share of pairs given one of grayscale / solarise / blur (the spec: all)
  double aspect_jitter = 0;     // log-normal sigma of a horizontal stretch of both frames (not in the spec)
};

struct Batch {
  torch::Tensor z;       // (B, 3, T, T) normalised template crops
  torch::Tensor x;       // (B, 3, S, S) search crops
  torch::Tensor z_mask;  // (B, g, g) int64
  torch::Tensor target;  // (B, 4) target corners in search-crop units
};

class PairSource {
 public:
  // datasets with their sampling weights (need not sum to 1). Throws lorat::Error when no
  // dataset has a usable sequence.
  PairSource(std::vector<const Dataset*> datasets, std::vector<double> weights, ModelConfig config, PairOptions options = {});
  // Batch number `index` of `size` pairs for run `seed`; with count >= 0 only the pairs
  // first .. first + count - 1 of it (one process's share in data-parallel training).
  Batch batch(uint64_t seed, uint64_t index, int size, int first = 0, int count = -1) const;
  int64_t sequences() const { return int64_t(pool_.size()); }

 private:
  struct Entry {
    const TrainSequence* seq;
    std::vector<int> usable;  // frame indices with a usable box
  };
  void make_pair(uint64_t seed, float* z, int64_t* mask, float* x, float* target) const;
  std::vector<Entry> pool_;
  std::vector<double> cumulative_;  // per entry, sampling weight accumulated
  ModelConfig config_;
  PairOptions options_;
};

}  // namespace lorat
