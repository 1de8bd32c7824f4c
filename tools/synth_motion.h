// Real motion with pseudo ground truth: moving blobs of a fixed-camera video (mostly people),
// found by background subtraction (OpenCV MOG2) and linked across frames by overlap. Only for
// videos from a fixed camera.
#pragma once
#include <vector>

#include <opencv2/core.hpp>

namespace lorat_cli {

struct MotionTrack {
  int first_frame = 0;
  std::vector<cv::Rect> boxes;  // one per frame from first_frame on
};

// Tracks of at least min_length frames, cut into pieces of at most max_length.
std::vector<MotionTrack> find_motion_tracks(const std::vector<cv::Mat>& frames, int min_length, int max_length);

// The moving blobs of every `every`-th frame at least min_height pixels tall, cut out by their
// foreground mask: CV_8UC4, trimmed to the blob's box, the mask as alpha. Real objects (in a
// street scene, people) to paste into synthetic scenes.
std::vector<cv::Mat> motion_cutouts(const std::vector<cv::Mat>& frames, int every, int min_height);

}  // namespace lorat_cli
