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
  // Decode through GStreamer first, with the chain a gst-launch line would use (decodebin !
  // videoconvert), so `lorat track` and lorattrack see the same pixels; FFmpeg otherwise.
  std::string quoted;
  for (char c : fs::absolute(path).string()) quoted += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  video_ = std::make_unique<cv::VideoCapture>(
      "filesrc location=\"" + quoted + "\" ! decodebin ! videoconvert ! video/x-raw,format=BGR ! appsink sync=false", cv::CAP_GSTREAMER);
  if (!video_->isOpened()) video_ = std::make_unique<cv::VideoCapture>(path, cv::CAP_FFMPEG);
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
  bgr = read_bgr(frames_[index_]);
  return true;
}

cv::Mat read_bgr(const std::string& path) {
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  if (bgr.empty()) throw Error(path + ": cannot decode the image");
  return bgr;
}

lorat::ImageView view_of(const cv::Mat& bgr) {
  return lorat::ImageView::packed(lorat::PixelFormat::BGR, bgr.data, bgr.cols, bgr.rows, int(bgr.step[0]));
}

}  // namespace lorat_cli
