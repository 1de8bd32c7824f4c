// One-pass evaluation metrics (OTB / LaSOT / TrackingNet conventions) on boxes against ground truth.
#pragma once
#include <vector>

#include "box.h"

namespace lorat {

struct SequenceScores {
  int frames = 0;                  // frames with valid ground truth that were scored
  std::vector<double> success;     // fraction of frames with IoU > t, t = 0, 0.05, ..., 1 (21 values)
  std::vector<double> precision;   // fraction with centre error <= d px, d = 0..50 (51 values)
  std::vector<double> norm_precision;  // centre error normalised by the ground truth size <= t, t = 0..0.5 in 51 steps
  double auc = 0;                  // mean of `success`
  double precision_20 = 0;         // precision at 20 px
  double norm_precision_auc = 0;   // mean of `norm_precision`
};

// Frames whose ground truth is invalid (absent target, w or h <= 0) are skipped. predicted and
// truth are matched by index; extra entries on either side are ignored.
SequenceScores score_sequence(const std::vector<Box>& predicted, const std::vector<Box>& truth);

// Frame-weighted mean of several sequences' curves (all frames count equally, as LaSOT reports).
SequenceScores combine(const std::vector<SequenceScores>& sequences);

}  // namespace lorat
