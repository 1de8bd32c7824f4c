// Synthetic tracking sequences: an object (clip-art with alpha, or a photo patch) moving over a
// real background (consecutive frames of a video, or a photo under a drifting camera) with scale
// change, aspect change, in-plane rotation, look-alike distractors, occluders, blur and light
// changes. The ground truth is the box of the rendered object's own alpha, so it is exact.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace lorat_cli {

struct SynthAssets {
  std::vector<cv::Mat> objects;                    // CV_8UC4, trimmed to their alpha box
  std::vector<cv::Mat> photos;                     // CV_8UC3
  std::vector<std::vector<cv::Mat>> video_frames;  // per video, CV_8UC3 frames at canvas scale
  std::vector<cv::Mat> cutouts;                    // CV_8UC4, real objects cut out by their motion
  double cutout_share = 0;                         // share of targets taken from cutouts
};

struct SynthFrame {
  cv::Mat image;       // CV_8UC3
  cv::Rect2d box;      // the target's axis-aligned box (full extent, also when occluded)
  bool absent = false; // under 15% of the target visible (occluded or out of view)
};

// Sequence number `index` of run `seed`: the same arguments give the same frames.
std::vector<SynthFrame> synth_sequence(const SynthAssets& assets, uint64_t seed, uint64_t index, int frames,
                                       cv::Size canvas);

}  // namespace lorat_cli
