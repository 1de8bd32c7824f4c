// One-pass metrics on hand-made boxes.
#include <gtest/gtest.h>

#include "lorat/metrics.h"

using namespace lorat;

TEST(Metrics, PerfectTrackingScoresTheMaximum) {
  std::vector<Box> truth = {{10, 10, 20, 20}, {12, 10, 20, 20}, {14, 12, 20, 22}};
  SequenceScores s = score_sequence(truth, truth);
  EXPECT_EQ(s.frames, 3);
  EXPECT_NEAR(s.auc, 20.0 / 21.0, 1e-12);  // IoU 1 passes every threshold but 1 itself
  EXPECT_DOUBLE_EQ(s.precision_20, 1.0);
  EXPECT_DOUBLE_EQ(s.precision[0], 1.0);
}

TEST(Metrics, HalfOverlapAndCentreError) {
  // Shifted by half the width: IoU = 10*20 / (2*400 - 200) = 1/3, centre error 10 px.
  SequenceScores s = score_sequence({{20, 10, 20, 20}}, {{10, 10, 20, 20}});
  EXPECT_DOUBLE_EQ(s.success[6], 1.0);  // 1/3 > 0.30
  EXPECT_DOUBLE_EQ(s.success[7], 0.0);  // 1/3 < 0.35
  EXPECT_NEAR(s.auc, 7.0 / 21.0, 1e-12);
  EXPECT_DOUBLE_EQ(s.precision[9], 0.0);
  EXPECT_DOUBLE_EQ(s.precision[10], 1.0);
  EXPECT_DOUBLE_EQ(s.norm_precision[50], 1.0);  // 10/20 = 0.5
  EXPECT_DOUBLE_EQ(s.norm_precision[49], 0.0);
}

TEST(Metrics, FramesWithoutGroundTruthAreSkippedAndSequencesWeighByFrames) {
  SequenceScores a = score_sequence({{0, 0, 10, 10}, {0, 0, 10, 10}, {50, 50, 10, 10}},
                                    {{0, 0, 10, 10}, {0, 0, 0, 0}, {0, 0, 10, 10}});
  EXPECT_EQ(a.frames, 2);
  EXPECT_DOUBLE_EQ(a.precision_20, 0.5);
  SequenceScores b = score_sequence({{0, 0, 10, 10}}, {{0, 0, 10, 10}});
  SequenceScores all = combine({a, b});
  EXPECT_EQ(all.frames, 3);
  EXPECT_NEAR(all.precision_20, 2.0 / 3.0, 1e-12);
}
