// lorat synth's generators: synthetic scenes with exact ground truth, motion tracks of a video.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "../tools/synth_motion.h"
#include "../tools/synth_scene.h"

namespace lorat_cli {
namespace {

double iou(const cv::Rect2d& a, const cv::Rect2d& b) {
  double inter = (a & b).area();
  return inter / (a.area() + b.area() - inter);
}

// A photo with smooth gradients and one clip-art object: a pure red disc on transparent ground.
SynthAssets red_disc_assets() {
  SynthAssets a;
  cv::Mat photo(300, 400, CV_8UC3);
  for (int y = 0; y < photo.rows; ++y)
    for (int x = 0; x < photo.cols; ++x) photo.at<cv::Vec3b>(y, x) = {uint8_t(x / 2), uint8_t(y / 2), 40};
  a.photos.push_back(photo);
  cv::Mat disc(60, 60, CV_8UC4, cv::Scalar(0, 0, 0, 0));
  cv::circle(disc, {30, 30}, 29, cv::Scalar(0, 0, 255, 255), cv::FILLED);
  a.objects.push_back(disc);
  return a;
}

// Pixels of `image` whose HSV lies in [lo, hi]: how many in all, and how many inside `box`.
struct ColourCount {
  int total = 0, in_box = 0;
};
ColourCount count_colour(const cv::Mat& image, const cv::Scalar& lo, const cv::Scalar& hi, const cv::Rect2d& box) {
  cv::Mat hsv, match;
  cv::cvtColor(image, hsv, cv::COLOR_BGR2HSV);
  cv::inRange(hsv, lo, hi, match);
  cv::Mat inside = cv::Mat::zeros(match.size(), CV_8U);
  inside(cv::Rect(box) & cv::Rect({0, 0}, match.size())).setTo(255);
  return {cv::countNonZero(match), cv::countNonZero(match & inside)};
}

TEST(Synth, SameSeedAndIndexGiveTheSameSequence) {
  SynthAssets a = red_disc_assets();
  auto one = synth_sequence(a, 7, 3, 6, {160, 120}), two = synth_sequence(a, 7, 3, 6, {160, 120});
  auto other = synth_sequence(a, 7, 4, 6, {160, 120});
  ASSERT_EQ(one.size(), 6u);
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(cv::norm(one[i].image, two[i].image, cv::NORM_INF), 0) << "frame " << i;
    EXPECT_EQ(one[i].box, two[i].box);
  }
  EXPECT_GT(cv::norm(one[0].image, other[0].image, cv::NORM_L1), 0);
}

TEST(Synth, BoxesLieInTheFrameAndCoverTheTarget) {
  SynthAssets a = red_disc_assets();
  const cv::Size canvas(200, 150);
  int checked = 0;
  for (uint64_t index = 0; index < 40; ++index) {
    for (const SynthFrame& f : synth_sequence(a, 1, index, 8, canvas)) {
      ASSERT_EQ(f.image.size(), canvas);
      if (f.absent) continue;
      EXPECT_GE(f.box.x, 0);
      EXPECT_GE(f.box.y, 0);
      EXPECT_LE(f.box.br().x, canvas.width);
      EXPECT_LE(f.box.br().y, canvas.height);
      EXPECT_GT(f.box.area(), 0);
      ++checked;
    }
  }
  EXPECT_GT(checked, 200);
}

// Where only one red disc can be in the frame (no distractor copies it unless recoloured, and the
// photo has no strong red), the strongly red pixels sit inside the ground-truth box.
TEST(Synth, GroundTruthIsWhereTheObjectWasDrawn) {
  SynthAssets a = red_disc_assets();
  int matched = 0;
  for (uint64_t index = 0; index < 30; ++index) {
    auto seq = synth_sequence(a, 2, index, 1, {200, 150});
    const SynthFrame& f = seq[0];
    if (f.absent || f.box.area() < 100) continue;
    const auto [total, in_box] = count_colour(f.image, cv::Scalar(0, 200, 150), cv::Scalar(4, 255, 255), f.box);
    if (total < 50) continue;  // the frame's light or blur changed the colour; nothing to check
    // Most red pixels are the target's: exact copies among the distractors are rare.
    if (in_box > 0.9 * total) ++matched;
  }
  EXPECT_GE(matched, 10);
}

// A static 320x240 scene of smooth grey texture, for the motion tests.
cv::Mat textured_background(uint64_t seed) {
  cv::Mat background(240, 320, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(background, cv::RNG::UNIFORM, 100, 140);
  cv::GaussianBlur(background, background, {0, 0}, 2);
  return background;
}

// A dark square walks across a static textured scene: one track, boxes on the square.
TEST(SynthMotion, FindsAMovingObjectAndItsBoxes) {
  const cv::Mat background = textured_background(5);
  std::vector<cv::Mat> frames;
  std::vector<cv::Rect> truth;
  for (int i = 0; i < 80; ++i) {
    cv::Mat f = background.clone();
    cv::Rect r(20 + 3 * i, 90, 16, 40);
    f(r).setTo(cv::Scalar(20, 20, 200));
    frames.push_back(f);
    truth.push_back(r);
  }
  auto tracks = find_motion_tracks(frames, 20, 100);
  ASSERT_EQ(tracks.size(), 1u);
  const MotionTrack& t = tracks[0];
  EXPECT_GE(t.boxes.size(), 60u);
  size_t close = 0;  // a few frames where the background model still holds the square's old place
  for (size_t i = 0; i < t.boxes.size(); ++i) {
    double overlap = iou(t.boxes[i], truth[size_t(t.first_frame) + i]);
    EXPECT_GT(overlap, 0.5) << "frame " << t.first_frame + int(i);
    close += overlap > 0.8;
  }
  EXPECT_GE(close, t.boxes.size() * 9 / 10);
}

// A tall blue bar walks across a static textured scene: its cut-outs are the bar, alpha on its
// pixels, at every 10th frame; a small square moving beside it is under the height limit.
TEST(SynthMotion, CutsOutTheMovingObjectByItsMask) {
  const cv::Mat background = textured_background(6);
  std::vector<cv::Mat> frames;
  for (int i = 0; i < 80; ++i) {
    cv::Mat f = background.clone();
    f(cv::Rect(20 + 3 * i, 60, 20, 60)).setTo(cv::Scalar(200, 20, 20));
    f(cv::Rect(280 - 3 * i, 180, 12, 12)).setTo(cv::Scalar(20, 200, 20));
    frames.push_back(f);
  }
  auto cutouts = motion_cutouts(frames, 10, 40);
  ASSERT_GE(cutouts.size(), 6u);
  EXPECT_LE(cutouts.size(), 8u);
  size_t whole = 0;  // at frame 0 the background model still holds the bar's first places
  for (const cv::Mat& c : cutouts) {
    ASSERT_EQ(c.type(), CV_8UC4);
    EXPECT_NEAR(c.rows, 60, 4);
    whole += std::abs(c.cols - 20) <= 4;
    cv::Mat alpha, blue;
    cv::extractChannel(c, alpha, 3);
    EXPECT_GT(cv::countNonZero(alpha), 0.8 * c.total());
    cv::inRange(c, cv::Scalar(180, 0, 0, 255), cv::Scalar(255, 60, 60, 255), blue);
    EXPECT_GT(cv::countNonZero(blue), 0.8 * c.total()) << "the cut-out is not the bar";
  }
  EXPECT_GE(whole, cutouts.size() - 1);
}

// With cut-outs at share 1 every target is one of them: a green bar, where the clip-art is a red
// disc. Most target boxes are mostly green (occluders can hide some of it).
TEST(Synth, CutoutShareMakesTheTargetACutout) {
  SynthAssets a = red_disc_assets();
  a.cutouts.push_back(cv::Mat(60, 20, CV_8UC4, cv::Scalar(0, 220, 0, 255)));
  a.cutout_share = 1;
  int checked = 0, green_targets = 0;
  for (uint64_t index = 0; index < 30; ++index) {
    const SynthFrame f = synth_sequence(a, 3, index, 1, {200, 150})[0];
    if (f.absent || f.box.area() < 100) continue;
    const auto [total, in_box] = count_colour(f.image, cv::Scalar(50, 150, 100), cv::Scalar(70, 255, 255), f.box);
    if (total < 30) continue;  // light or blur changed the colour
    ++checked;
    green_targets += in_box > 0.3 * f.box.area();
  }
  EXPECT_GE(checked, 10);
  EXPECT_GE(green_targets, checked * 8 / 10);
}

TEST(SynthMotion, AStaticSceneHasNoTracks) {
  cv::Mat background(240, 320, CV_8UC3, cv::Scalar(90, 120, 60));
  cv::rectangle(background, {50, 50, 40, 80}, cv::Scalar(10, 10, 10), cv::FILLED);
  std::vector<cv::Mat> frames(60, background);
  EXPECT_TRUE(find_motion_tracks(frames, 20, 100).empty());
}

}  // namespace
}  // namespace lorat_cli
