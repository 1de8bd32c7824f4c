#include "metrics.h"

#include <cmath>

namespace lorat {

namespace {

constexpr int kSuccessSteps = 21, kPrecisionSteps = 51, kNormSteps = 51;

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / v.size();
}

void finish(SequenceScores& s) {
  s.auc = mean(s.success);
  s.precision_20 = s.precision[20];
  s.norm_precision_auc = mean(s.norm_precision);
}

}  // namespace

SequenceScores score_sequence(const std::vector<Box>& predicted, const std::vector<Box>& truth) {
  SequenceScores s;
  s.success.assign(kSuccessSteps, 0);
  s.precision.assign(kPrecisionSteps, 0);
  s.norm_precision.assign(kNormSteps, 0);
  size_t n = std::min(predicted.size(), truth.size());
  for (size_t i = 0; i < n; ++i) {
    const Box &p = predicted[i], &t = truth[i];
    if (!(t.w > 0 && t.h > 0)) continue;
    ++s.frames;
    double overlap = iou(p, t);
    double dx = p.cx() - t.cx(), dy = p.cy() - t.cy();
    double dist = std::isfinite(dx) && std::isfinite(dy) ? std::hypot(dx, dy) : INFINITY;
    double norm = std::isfinite(dx) && std::isfinite(dy) ? std::hypot(dx / t.w, dy / t.h) : INFINITY;
    for (int k = 0; k < kSuccessSteps; ++k) s.success[k] += overlap > k / 20.0 ? 1 : 0;
    for (int k = 0; k < kPrecisionSteps; ++k) s.precision[k] += dist <= k ? 1 : 0;
    for (int k = 0; k < kNormSteps; ++k) s.norm_precision[k] += norm <= k * 0.01 ? 1 : 0;
  }
  if (s.frames > 0) {
    for (auto* curve : {&s.success, &s.precision, &s.norm_precision})
      for (double& v : *curve) v /= s.frames;
  }
  finish(s);
  return s;
}

SequenceScores combine(const std::vector<SequenceScores>& sequences) {
  SequenceScores all;
  all.success.assign(kSuccessSteps, 0);
  all.precision.assign(kPrecisionSteps, 0);
  all.norm_precision.assign(kNormSteps, 0);
  for (const auto& s : sequences) {
    all.frames += s.frames;
    for (int k = 0; k < kSuccessSteps; ++k) all.success[k] += s.success[k] * s.frames;
    for (int k = 0; k < kPrecisionSteps; ++k) all.precision[k] += s.precision[k] * s.frames;
    for (int k = 0; k < kNormSteps; ++k) all.norm_precision[k] += s.norm_precision[k] * s.frames;
  }
  if (all.frames > 0)
    for (auto* curve : {&all.success, &all.precision, &all.norm_precision})
      for (double& v : *curve) v /= all.frames;
  finish(all);
  return all;
}

}  // namespace lorat
