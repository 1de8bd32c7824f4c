// Frames for the CLI: an image sequence folder (with ground truth) or a video file, via OpenCV.
#pragma once
#include <memory>
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <vector>

#include "lorat/box.h"
#include "lorat/image.h"

namespace lorat_cli {

class FrameSource {
 public:
  // A folder (img/ + groundtruth) or a video file. Throws lorat::Error with a one-line reason.
  explicit FrameSource(const std::string& path);
  // Next frame as BGR; false at the end. Throws lorat::Error when an image cannot be decoded.
  bool next(cv::Mat& bgr);
  int index() const { return index_; }  // 0-based index of the frame last returned
  const std::vector<lorat::Box>& groundtruth() const { return groundtruth_; }
  std::string name() const { return name_; }

 private:
  std::vector<std::string> frames_;
  std::unique_ptr<cv::VideoCapture> video_;
  std::vector<lorat::Box> groundtruth_;
  std::string name_;
  int index_ = -1;
};

// A view of a BGR cv::Mat for the tracker.
lorat::ImageView view_of(const cv::Mat& bgr);

// An image file as BGR; lorat::Error naming the file when it cannot be decoded.
cv::Mat read_bgr(const std::string& path);

}  // namespace lorat_cli
