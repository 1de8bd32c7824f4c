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

}  // namespace lorat_cli
