#include "one_step.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "frame_source.h"
#include "lorat/tracker.h"

namespace lorat_cli {

namespace {

// Sums over the steps of one sequence (or of all): IoU, the log of the size ratios (0 = unbiased;
// +0.1 = 10% too large) and the centre error in units of the true box's sqrt(w h).
struct StepStats {
  int steps = 0;
  double iou = 0, log_w = 0, log_h = 0, centre = 0;
  void add(const lorat::Box& answer, const lorat::Box& truth) {
    ++steps;
    iou += lorat::iou(answer, truth);
    log_w += std::log(answer.w / truth.w);
    log_h += std::log(answer.h / truth.h);
    centre += std::hypot(answer.cx() - truth.cx(), answer.cy() - truth.cy()) / std::sqrt(truth.w * truth.h);
  }
  void add(const StepStats& o) { steps += o.steps, iou += o.iou, log_w += o.log_w, log_h += o.log_h, centre += o.centre; }
};

void print_row(const char* tracker, const std::string& seq, const StepStats& s) {
  if (s.steps == 0) {
    std::printf("%-12s %-16s %6d %7s %9s %9s %8s\n", tracker, seq.c_str(), 0, "-", "-", "-", "-");
    return;
  }
  const double n = s.steps;
  std::printf("%-12s %-16s %6d %7.3f %+9.3f %+9.3f %8.3f\n", tracker, seq.c_str(), s.steps, s.iou / n, s.log_w / n, s.log_h / n, s.centre / n);
}

}  // namespace

void print_one_step(const LoadedModel& model, const std::vector<lorat::Sequence>& sequences, double search_scale) {
  std::printf("%-12s %-16s %6s %7s %9s %9s %8s\n", "tracker", "sequence", "steps", "IoU", "log(w/gt)", "log(h/gt)", "centre");
  StepStats model_all, previous_all;
  std::vector<StepStats> previous_rows;
  lorat::Tracker tracker(model.model, lorat::TrackerOptions{model.device});
  int id = 0;  // the one target, restarted at every step of every sequence
  for (const auto& seq : sequences) {
    StepStats ours, previous;
    const size_t frames = std::min(seq.frames.size(), seq.groundtruth.size());
    cv::Mat before = frames > 0 ? read_bgr(seq.frames[0]) : cv::Mat();
    for (size_t t = 1; t < frames; ++t) {
      cv::Mat now = read_bgr(seq.frames[t]);
      const lorat::Box& from = seq.groundtruth[t - 1];
      const lorat::Box& truth = seq.groundtruth[t];
      if (from.valid() && truth.valid()) {
        id = tracker.add_target(view_of(before), from, id);
        if (search_scale != 1) {
          const double w = from.w * search_scale, h = from.h * search_scale;
          tracker.set_box(id, lorat::Box{from.cx() - w / 2, from.cy() - h / 2, w, h});
        }
        ours.add(tracker.track(view_of(now)).at(0).box, truth);
        previous.add(from, truth);
      }
      before = now;
    }
    print_row("lorat", seq.name, ours);
    model_all.add(ours);
    previous_all.add(previous);
    previous_rows.push_back(previous);
  }
  print_row("lorat", "ALL", model_all);
  for (size_t i = 0; i < sequences.size(); ++i) print_row("previous-box", sequences[i].name, previous_rows[i]);
  print_row("previous-box", "ALL", previous_all);
}

}  // namespace lorat_cli
