#include "plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "lorat/error.h"

namespace lorat_cli {

void write_plot(const std::string& path, const std::string& title, const std::string& x_label, const std::string& y_label,
                const std::vector<Series>& series, bool log_y) {
  const int W = 800, H = 500, left = 80, right = 20, top = 40, bottom = 60;
  cv::Mat img(H, W, CV_8UC3, cv::Scalar(255, 255, 255));
  auto ty = [&](double v) { return log_y ? std::log10(std::max(v, 1e-12)) : v; };
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, ty(s.y[i])), y1 = std::max(y1, ty(s.y[i]));
    }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y1 = y0 + 1;
  double pad = (y1 - y0) * 0.05;
  y0 -= pad, y1 += pad;
  auto px = [&](double x) { return int(left + (x - x0) / (x1 - x0) * (W - left - right)); };
  auto py = [&](double y) { return int(H - bottom - (ty(y) - y0) / (y1 - y0) * (H - top - bottom)); };
  const cv::Scalar black(0, 0, 0), grid(225, 225, 225);
  for (int k = 0; k <= 5; ++k) {
    double xv = x0 + (x1 - x0) * k / 5, yv = y0 + (y1 - y0) * k / 5;
    int gx = left + (W - left - right) * k / 5, gy = H - bottom - (H - top - bottom) * k / 5;
    cv::line(img, {gx, top}, {gx, H - bottom}, grid);
    cv::line(img, {left, gy}, {W - right, gy}, grid);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", std::round(xv * 1000) / 1000);
    cv::putText(img, buf, {gx - 15, H - bottom + 20}, cv::FONT_HERSHEY_SIMPLEX, 0.45, black);
    std::snprintf(buf, sizeof buf, "%.3g", log_y ? std::pow(10.0, yv) : yv);
    cv::putText(img, buf, {5, gy + 5}, cv::FONT_HERSHEY_SIMPLEX, 0.45, black);
  }
  cv::rectangle(img, {left, top}, {W - right, H - bottom}, black);
  cv::putText(img, title, {left, 28}, cv::FONT_HERSHEY_SIMPLEX, 0.7, black, 2);
  cv::putText(img, x_label, {W / 2 - 40, H - 15}, cv::FONT_HERSHEY_SIMPLEX, 0.55, black);
  cv::putText(img, y_label, {5, top - 8}, cv::FONT_HERSHEY_SIMPLEX, 0.5, black);
  static const cv::Scalar colours[] = {{200, 80, 30}, {40, 40, 220}, {40, 160, 40}, {160, 40, 160}, {30, 150, 200}, {90, 90, 90}};
  for (size_t s = 0; s < series.size(); ++s) {
    const cv::Scalar c = colours[s % 6];
    std::vector<cv::Point> pts;
    for (size_t i = 0; i < series[s].x.size() && i < series[s].y.size(); ++i)
      if (std::isfinite(series[s].x[i]) && std::isfinite(series[s].y[i])) pts.push_back({px(series[s].x[i]), py(series[s].y[i])});
    if (pts.size() > 1) cv::polylines(img, pts, false, c, 2, cv::LINE_AA);
    int ly = top + 20 + int(s) * 20;
    cv::line(img, {W - right - 190, ly - 5}, {W - right - 160, ly - 5}, c, 2);
    cv::putText(img, series[s].name, {W - right - 150, ly}, cv::FONT_HERSHEY_SIMPLEX, 0.5, black);
  }
  bool ok = false;
  try {
    ok = cv::imwrite(path, img);
  } catch (const cv::Exception&) {
  }
  if (!ok) throw lorat::Error(path + ": cannot write the plot");
}

}  // namespace lorat_cli
