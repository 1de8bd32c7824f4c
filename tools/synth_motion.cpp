#include "synth_motion.h"

#include <algorithm>

#include <opencv2/imgproc.hpp>
#include <opencv2/video/background_segm.hpp>

namespace lorat_cli {

namespace {

double iou(const cv::Rect& a, const cv::Rect& b) {
  double inter = (a & b).area();
  return inter / (a.area() + b.area() - inter);
}

// Blobs of one foreground mask: shadows (MOG2 marks them 127) dropped, small parts joined.
std::vector<cv::Rect> blobs(const cv::Mat& foreground, int min_area) {
  cv::Mat mask = foreground > 200;
  cv::morphologyEx(mask, mask, cv::MORPH_OPEN, cv::getStructuringElement(cv::MORPH_ELLIPSE, {3, 3}));
  cv::morphologyEx(mask, mask, cv::MORPH_CLOSE, cv::getStructuringElement(cv::MORPH_ELLIPSE, {9, 9}));
  cv::Mat labels, stats, centroids;
  int n = cv::connectedComponentsWithStats(mask, labels, stats, centroids);
  std::vector<cv::Rect> out;
  for (int i = 1; i < n; ++i) {
    cv::Rect r(stats.at<int>(i, cv::CC_STAT_LEFT), stats.at<int>(i, cv::CC_STAT_TOP), stats.at<int>(i, cv::CC_STAT_WIDTH),
               stats.at<int>(i, cv::CC_STAT_HEIGHT));
    // Blobs cut by the frame edge have a wrong box; fill ratio under 0.3 is usually two blobs merged.
    bool at_edge = r.x <= 1 || r.y <= 1 || r.br().x >= mask.cols - 1 || r.br().y >= mask.rows - 1;
    if (r.area() >= min_area && !at_edge && stats.at<int>(i, cv::CC_STAT_AREA) >= 0.3 * r.area()) out.push_back(r);
  }
  return out;
}

}  // namespace

std::vector<MotionTrack> find_motion_tracks(const std::vector<cv::Mat>& frames, int min_length, int max_length) {
  if (frames.empty()) return {};
  auto mog = cv::createBackgroundSubtractorMOG2(200, 16, true);
  const int min_area = std::max(64, frames[0].cols * frames[0].rows / 1500);
  std::vector<MotionTrack> done, active;
  cv::Mat foreground;
  for (const cv::Mat& f : frames) mog->apply(f, foreground);  // a first pass learns the background
  for (int f = 0; f < int(frames.size()); ++f) {
    mog->apply(frames[size_t(f)], foreground);
    std::vector<cv::Rect> found = blobs(foreground, min_area);
    std::vector<bool> taken(found.size(), false);
    std::vector<MotionTrack> still;
    for (MotionTrack& t : active) {
      const cv::Rect& last = t.boxes.back();
      int best = -1;
      double best_iou = 0.5;
      for (size_t i = 0; i < found.size(); ++i) {
        double ratio = double(found[i].area()) / last.area();
        if (!taken[i] && ratio > 0.7 && ratio < 1.4 && iou(found[i], last) > best_iou) best = int(i), best_iou = iou(found[i], last);
      }
      if (best >= 0) {
        taken[size_t(best)] = true;
        t.boxes.push_back(found[size_t(best)]);
        still.push_back(std::move(t));
      } else if (int(t.boxes.size()) >= min_length) {
        done.push_back(std::move(t));
      }
    }
    for (size_t i = 0; i < found.size(); ++i)
      if (!taken[i]) still.push_back({f, {found[i]}});
    active = std::move(still);
  }
  for (MotionTrack& t : active)
    if (int(t.boxes.size()) >= min_length) done.push_back(std::move(t));

  // Blobs that stay put are flicker or a moved background object, not something worth tracking.
  auto travels = [](const MotionTrack& t) {
    cv::Point2d a = (t.boxes.front().tl() + t.boxes.front().br()) / 2, b = (t.boxes.back().tl() + t.boxes.back().br()) / 2;
    return cv::norm(a - b) >= 0.5 * std::sqrt(double(t.boxes.front().area()));
  };
  std::vector<MotionTrack> pieces;
  for (const MotionTrack& t : done)
    if (travels(t))
      for (size_t start = 0; start + size_t(min_length) <= t.boxes.size(); start += size_t(max_length)) {
        size_t end = std::min(t.boxes.size(), start + size_t(max_length));
        pieces.push_back({t.first_frame + int(start), {t.boxes.begin() + long(start), t.boxes.begin() + long(end)}});
      }
  return pieces;
}

}  // namespace lorat_cli
