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
  // Reach: the answer's move from the search centre, projected on the truth's offset from it, summed
  // over the squared offsets (both in units of the previous box's sqrt(w h)).
  double reach_moved = 0, reach_offset = 0;
  void add(const lorat::Box& answer, const lorat::Box& truth, const lorat::Box& searched, const lorat::Box& from) {
    ++steps;
    iou += lorat::iou(answer, truth);
    log_w += std::log(answer.w / truth.w);
    log_h += std::log(answer.h / truth.h);
    centre += std::hypot(answer.cx() - truth.cx(), answer.cy() - truth.cy()) / std::sqrt(truth.w * truth.h);
    const double unit = from.w * from.h;
    const double ox = truth.cx() - searched.cx(), oy = truth.cy() - searched.cy();
    reach_moved += ((answer.cx() - searched.cx()) * ox + (answer.cy() - searched.cy()) * oy) / unit;
    reach_offset += (ox * ox + oy * oy) / unit;
  }
  void add(const StepStats& o) {
    steps += o.steps, iou += o.iou, log_w += o.log_w, log_h += o.log_h, centre += o.centre;
    reach_moved += o.reach_moved, reach_offset += o.reach_offset;
  }
};

void print_row(const char* tracker, const std::string& seq, const StepStats& s) {
  if (s.steps == 0) {
    std::printf("%-12s %-16s %6d %7s %9s %9s %8s\n", tracker, seq.c_str(), 0, "-", "-", "-", "-");
    return;
  }
  const double n = s.steps;
  std::printf("%-12s %-16s %6d %7.3f %+9.3f %+9.3f %8.3f\n", tracker, seq.c_str(), s.steps, s.iou / n, s.log_w / n, s.log_h / n, s.centre / n);
}

// One row per sequence, for the model and for the previous ground-truth box.
struct OneStepRun {
  std::vector<StepStats> model, previous;
};

// The search box of one step: the previous truth scaled by search_scale about its centre, then moved
// by centre_shift of its sqrt(w h) along both axes, the four diagonals in turn so the shifts cancel.
lorat::Box search_box(const lorat::Box& from, double search_scale, double centre_shift, int step) {
  const double w = from.w * search_scale, h = from.h * search_scale, d = centre_shift * std::sqrt(from.w * from.h);
  const double sx = (step % 4 == 0 || step % 4 == 3) ? 1 : -1, sy = step % 4 < 2 ? 1 : -1;
  return lorat::Box{from.cx() + sx * d - w / 2, from.cy() + sy * d - h / 2, w, h};
}

OneStepRun run_one_step(const LoadedModel& model, const std::vector<lorat::Sequence>& sequences, double search_scale,
                        double centre_shift = 0) {
  OneStepRun run;
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
        const lorat::Box searched = search_box(from, search_scale, centre_shift, ours.steps);
        if (search_scale != 1 || centre_shift != 0) tracker.set_box(id, searched);
        // The model's own answer: a size smoothing (size_update_rate) would pull it to `from`.
        ours.add(tracker.track(view_of(now)).at(0).answer, truth, searched, from);
        previous.add(from, truth, searched, from);
      }
      before = now;
    }
    run.model.push_back(ours);
    run.previous.push_back(previous);
  }
  return run;
}

StepStats sum(const std::vector<StepStats>& rows) {
  StepStats all;
  for (const auto& r : rows) all.add(r);
  return all;
}

void print_follow_row(const std::string& seq, const StepStats& small, const StepStats& large) {
  if (small.steps == 0) {
    std::printf("%-12s %-16s %6d %9s %9s\n", "lorat", seq.c_str(), 0, "-", "-");
    return;
  }
  const double span = std::log(kFollowLargeScale / kFollowSmallScale);
  const double w = (large.log_w / large.steps - small.log_w / small.steps) / span;
  const double h = (large.log_h / large.steps - small.log_h / small.steps) / span;
  std::printf("%-12s %-16s %6d %9.2f %9.2f\n", "lorat", seq.c_str(), small.steps, w, h);
}

double reach_of(const StepStats& s) { return s.reach_offset > 0 ? s.reach_moved / s.reach_offset : 0; }

void print_reach_row(const char* tracker, const std::string& seq, const StepStats& s) {
  if (s.steps == 0)
    std::printf("%-12s %-16s %6d %7s\n", tracker, seq.c_str(), 0, "-");
  else
    std::printf("%-12s %-16s %6d %7.2f\n", tracker, seq.c_str(), s.steps, reach_of(s));
}

}  // namespace

void print_one_step(const LoadedModel& model, const std::vector<lorat::Sequence>& sequences, double search_scale) {
  std::printf("%-12s %-16s %6s %7s %9s %9s %8s\n", "tracker", "sequence", "steps", "IoU", "log(w/gt)", "log(h/gt)", "centre");
  const OneStepRun run = run_one_step(model, sequences, search_scale);
  for (size_t i = 0; i < sequences.size(); ++i) print_row("lorat", sequences[i].name, run.model[i]);
  print_row("lorat", "ALL", sum(run.model));
  for (size_t i = 0; i < sequences.size(); ++i) print_row("previous-box", sequences[i].name, run.previous[i]);
  print_row("previous-box", "ALL", sum(run.previous));
}

void print_follow(const LoadedModel& model, const std::vector<lorat::Sequence>& sequences) {
  const OneStepRun small = run_one_step(model, sequences, kFollowSmallScale);
  const OneStepRun large = run_one_step(model, sequences, kFollowLargeScale);
  std::printf("%-12s %-16s %6s %9s %9s\n", "tracker", "sequence", "steps", "follow(w)", "follow(h)");
  for (size_t i = 0; i < sequences.size(); ++i) print_follow_row(sequences[i].name, small.model[i], large.model[i]);
  print_follow_row("ALL", sum(small.model), sum(large.model));
}

void print_reach(const LoadedModel& model, const std::vector<lorat::Sequence>& sequences) {
  const OneStepRun run = run_one_step(model, sequences, 1, kReachShift);
  std::printf("%-12s %-16s %6s %7s\n", "tracker", "sequence", "steps", "reach");
  for (size_t i = 0; i < sequences.size(); ++i) print_reach_row("lorat", sequences[i].name, run.model[i]);
  print_reach_row("lorat", "ALL", sum(run.model));
  for (size_t i = 0; i < sequences.size(); ++i) print_reach_row("previous-box", sequences[i].name, run.previous[i]);
  print_reach_row("previous-box", "ALL", sum(run.previous));
}

}  // namespace lorat_cli
