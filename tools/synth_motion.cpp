#include "synth_motion.h"

#include <algorithm>
#include <functional>

#include <opencv2/imgproc.hpp>
#include <opencv2/video/background_segm.hpp>

namespace lorat_cli {

namespace {

double iou(const cv::Rect& a, const cv::Rect& b) {
  double inter = (a & b).area();
  return inter / (a.area() + b.area() - inter);
}

// A MOG2 foreground mask as 0/255: shadows (MOG2 marks them 127) dropped, specks removed, small
// gaps closed.
cv::Mat clean_mask(const cv::Mat& foreground) {
  cv::Mat mask = foreground > 200;
  cv::morphologyEx(mask, mask, cv::MORPH_OPEN, cv::getStructuringElement(cv::MORPH_ELLIPSE, {3, 3}));
  cv::morphologyEx(mask, mask, cv::MORPH_CLOSE, cv::getStructuringElement(cv::MORPH_ELLIPSE, {9, 9}));
  return mask;
}

// Boxes of the blobs of a clean mask worth keeping.
std::vector<cv::Rect> blobs(const cv::Mat& mask, int min_area) {
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

// Runs MOG2 over the video twice (the first pass learns the background) and calls
// visit(frame index, clean mask, blob boxes) for each frame of the second pass.
void for_each_foreground(const std::vector<cv::Mat>& frames,
                         const std::function<void(int, const cv::Mat&, const std::vector<cv::Rect>&)>& visit) {
  if (frames.empty()) return;
  auto mog = cv::createBackgroundSubtractorMOG2(200, 16, true);
  const int min_area = std::max(64, frames[0].cols * frames[0].rows / 1500);
  cv::Mat foreground;
  for (const cv::Mat& f : frames) mog->apply(f, foreground);
  for (int f = 0; f < int(frames.size()); ++f) {
    mog->apply(frames[size_t(f)], foreground);
    cv::Mat mask = clean_mask(foreground);
    visit(f, mask, blobs(mask, min_area));
  }
}

}  // namespace

std::vector<MotionTrack> find_motion_tracks(const std::vector<cv::Mat>& frames, int min_length, int max_length) {
  std::vector<MotionTrack> done, active;
  for_each_foreground(frames, [&](int f, const cv::Mat&, const std::vector<cv::Rect>& found) {
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
  });
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

std::vector<cv::Mat> motion_cutouts(const std::vector<cv::Mat>& frames, int every, int min_height) {
  std::vector<cv::Mat> out;
  for_each_foreground(frames, [&](int f, const cv::Mat& mask, const std::vector<cv::Rect>& found) {
    if (f % every != 0) return;
    for (const cv::Rect& r : found) {
      if (r.height < min_height) continue;
      cv::Mat bgra;
      cv::cvtColor(frames[size_t(f)](r), bgra, cv::COLOR_BGR2BGRA);
      cv::insertChannel(mask(r), bgra, 3);
      out.push_back(bgra);
    }
  });
  return out;
}

}  // namespace lorat_cli
