#include "frame_source.h"

#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "lorat/error.h"
#include "lorat/sequence.h"

namespace lorat_cli {

namespace fs = std::filesystem;
using lorat::Error;

FrameSource::FrameSource(const std::string& path) {
  if (!fs::exists(path)) throw Error(path + ": no such file or folder");
  name_ = fs::path(path).filename().string();
  if (fs::is_directory(path)) {
    lorat::Sequence seq = lorat::load_sequence(path, /*require_groundtruth=*/false);
    frames_ = seq.frames;
    groundtruth_ = seq.groundtruth;
    name_ = seq.name;
    return;
  }
  video_ = std::make_unique<cv::VideoCapture>(path);
  if (!video_->isOpened()) throw Error(path + ": cannot open as a video (unknown format or codec)");
}

bool FrameSource::next(cv::Mat& bgr) {
  if (video_) {
    if (!video_->read(bgr) || bgr.empty()) return false;
    ++index_;
    return true;
  }
  if (index_ + 1 >= int(frames_.size())) return false;
  ++index_;
  bgr = cv::imread(frames_[index_], cv::IMREAD_COLOR);
  if (bgr.empty()) throw Error(frames_[index_] + ": cannot decode the image");
  return true;
}

lorat::ImageView view_of(const cv::Mat& bgr) {
  return lorat::ImageView::packed(lorat::PixelFormat::BGR, bgr.data, bgr.cols, bgr.rows, int(bgr.step[0]));
}

}  // namespace lorat_cli
