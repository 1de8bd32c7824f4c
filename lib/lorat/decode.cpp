#include "decode.h"

#include <cmath>
#include <limits>

namespace lorat {

static std::vector<float> hann(int n) {
  std::vector<float> w(n, 1.0f);
  if (n == 1) return w;
  const double pi = 3.14159265358979323846;
  for (int i = 0; i < n; ++i) w[i] = float(0.5 - 0.5 * std::cos(2 * pi * i / (n - 1)));
  return w;
}

std::vector<float> hann_window_2d(int rows, int cols) {
  std::vector<float> r = hann(rows), c = hann(cols), w(size_t(rows) * cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) w[size_t(i) * cols + j] = r[i] * c[j];
  return w;
}

Decoded decode_score_map(const float* logits, const float* boxes, int rows, int cols, const std::vector<float>& window,
                         float penalty, int crop_size) {
  Decoded d;
  float best = -std::numeric_limits<float>::infinity(), second = best;
  for (int k = 0; k < rows * cols; ++k) {
    float s = 1.0f / (1.0f + std::exp(-logits[k]));
    float blended = s * (1.0f - penalty) + window[k] * penalty;
    if (blended > best) {  // strict: the first maximum wins, as torch.argmax does
      second = best;
      best = blended;
      d.index = k;
      d.score = s;
    } else if (blended > second) {
      second = blended;
    }
  }
  d.margin = rows * cols > 1 ? best - second : 0;
  const float* b = boxes + size_t(d.index) * 4;
  d.crop_box = Box::from_corners(b[0] * crop_size, b[1] * crop_size, b[2] * crop_size, b[3] * crop_size);
  return d;
}

}  // namespace lorat
