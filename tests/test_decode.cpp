// The Hann-window decode on hand-made score maps.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "lorat/decode.h"

using namespace lorat;

namespace {

float logit(float p) { return std::log(p / (1 - p)); }

struct Maps {
  std::vector<float> scores, boxes;
};

// An n x n map with every score p0 and every box (0.1, 0.2, 0.3, 0.4).
Maps flat(int n, float p0) {
  Maps m;
  m.scores.assign(n * n, logit(p0));
  for (int k = 0; k < n * n; ++k) m.boxes.insert(m.boxes.end(), {0.1f, 0.2f, 0.3f, 0.4f});
  return m;
}

}  // namespace

TEST(Decode, HannWindowIsSymmetricAndMatchesTorch) {
  auto w = hann_window_2d(16, 16);
  // torch.hann_window(16, periodic=False)[1] = 0.5 - 0.5 cos(2 pi / 15)
  double h1 = 0.5 - 0.5 * std::cos(2 * M_PI / 15);
  EXPECT_NEAR(w[1 * 16 + 0], 0.0, 1e-7);
  EXPECT_NEAR(w[1 * 16 + 1], h1 * h1, 1e-7);
  EXPECT_FLOAT_EQ(w[3 * 16 + 5], w[12 * 16 + 10]);
  EXPECT_FLOAT_EQ(w[7 * 16 + 7], w[8 * 16 + 8]);
}

TEST(Decode, ThePeakWinsAndTheScoreIsTheSigmoidNotTheBlend) {
  const int n = 16;
  Maps m = flat(n, 0.1f);
  m.scores[3 * n + 12] = logit(0.95f);
  float* b = &m.boxes[(3 * n + 12) * 4];
  b[0] = 0.70f, b[1] = 0.15f, b[2] = 0.80f, b[3] = 0.30f;
  Decoded d = decode_score_map(m.scores.data(), m.boxes.data(), n, n, hann_window_2d(n, n), 0.45f, 224);
  EXPECT_EQ(d.index, 3 * n + 12);
  EXPECT_NEAR(d.score, 0.95f, 1e-6);
  EXPECT_NEAR(d.crop_box.x, 0.70 * 224, 1e-4);
  EXPECT_NEAR(d.crop_box.y2(), 0.30 * 224, 1e-4);
  EXPECT_GT(d.margin, 0);
}

TEST(Decode, TheWindowPrefersTheCentreBetweenEqualScores) {
  const int n = 16;
  Maps m = flat(n, 0.1f);
  m.scores[1 * n + 1] = logit(0.9f);
  m.scores[7 * n + 8] = logit(0.9f);
  Decoded d = decode_score_map(m.scores.data(), m.boxes.data(), n, n, hann_window_2d(n, n), 0.45f, 224);
  EXPECT_EQ(d.index, 7 * n + 8);
  // A strong enough peak off centre beats a weak one in the middle.
  m.scores[7 * n + 8] = logit(0.3f);
  m.scores[5 * n + 6] = logit(0.999f);
  d = decode_score_map(m.scores.data(), m.boxes.data(), n, n, hann_window_2d(n, n), 0.45f, 224);
  EXPECT_EQ(d.index, 5 * n + 6);
}

TEST(Decode, FirstMaximumInRowMajorOrder) {
  const int n = 4;
  Maps m = flat(n, 0.5f);
  std::vector<float> ones(n * n, 1.0f);  // no window preference
  m.scores[9] = logit(0.8f);
  m.scores[6] = logit(0.8f);
  Decoded d = decode_score_map(m.scores.data(), m.boxes.data(), n, n, ones, 0.45f, 100);
  EXPECT_EQ(d.index, 6);
  EXPECT_FLOAT_EQ(d.margin, 0);
}
