// lorat eval: one-pass evaluation (init from the first box) of the model and, optionally,
// OpenCV's CSRT and KCF on the same sequences, with the standard metrics per sequence and overall;
// --starts K repeats the pass from K start frames (OTB's temporal robustness evaluation).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <opencv2/tracking.hpp>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "frame_source.h"
#include "lorat/error.h"
#include "lorat/metrics.h"
#include "lorat/sequence.h"
#include "model_loading.h"
#include "one_step.h"
#include "plot.h"

namespace lorat_cli {

namespace fs = std::filesystem;
using lorat::Box;
using lorat::Error;

namespace {

// A tracker the evaluation runs: init on the first frame, then one box per frame.
class EvalTracker {
 public:
  virtual ~EvalTracker() = default;
  virtual void init(const cv::Mat& bgr, const Box& box) = 0;
  virtual Box update(const cv::Mat& bgr) = 0;
};

class LoratEval : public EvalTracker {
 public:
  explicit LoratEval(const LoadedModel& m) : model_(m) {}
  void init(const cv::Mat& bgr, const Box& box) override {
    tracker_ = std::make_unique<lorat::Tracker>(model_.model, lorat::TrackerOptions{model_.device});
    tracker_->add_target(view_of(bgr), box);
  }
  Box update(const cv::Mat& bgr) override { return tracker_->track(view_of(bgr)).at(0).box; }

 private:
  const LoadedModel& model_;
  std::unique_ptr<lorat::Tracker> tracker_;
};

class OpenCvEval : public EvalTracker {
 public:
  explicit OpenCvEval(std::string kind) : kind_(std::move(kind)) {}
  void init(const cv::Mat& bgr, const Box& box) override {
    if (kind_ == "csrt") tracker_ = cv::TrackerCSRT::create();
    else tracker_ = cv::TrackerKCF::create();
    last_ = box;
    tracker_->init(bgr, cv::Rect(int(std::lround(box.x)), int(std::lround(box.y)), int(std::lround(box.w)), int(std::lround(box.h))));
  }
  Box update(const cv::Mat& bgr) override {
    cv::Rect r;
    if (tracker_->update(bgr, r)) last_ = Box{double(r.x), double(r.y), double(r.width), double(r.height)};
    return last_;  // a failed update keeps the last box, as a one-pass protocol reports something every frame
  }

 private:
  std::string kind_;
  cv::Ptr<cv::Tracker> tracker_;
  Box last_;
};

// A folder is a sequence if it has images and ground truth; otherwise its sub-folders are tried.
std::vector<std::string> find_sequences(const std::string& dir) {
  if (!fs::is_directory(dir)) throw Error(dir + ": no such sequence folder");
  bool has_gt = fs::exists(fs::path(dir) / "groundtruth_rect.txt") || fs::exists(fs::path(dir) / "groundtruth.txt");
  if (has_gt) return {dir};
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && (fs::exists(e.path() / "groundtruth_rect.txt") || fs::exists(e.path() / "groundtruth.txt")))
      out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  if (out.empty()) throw Error(dir + ": neither a sequence (img/ + ground truth) nor a folder of sequences");
  return out;
}

struct Run {
  lorat::SequenceScores scores;
  double seconds = 0;
  int tracked = 0;
};

// One pass from frame `start` (initialised with its ground truth) to the end of the sequence.
Run run_one(EvalTracker& tracker, const lorat::Sequence& seq, size_t start, const std::string& csv_path) {
  Run run;
  std::vector<Box> boxes;
  std::ofstream csv;
  if (!csv_path.empty()) {
    csv.open(csv_path);
    if (!csv) throw Error(csv_path + ": cannot write");
    csv << "frame,x,y,w,h\n";
  }
  for (size_t i = start; i < seq.frames.size(); ++i) {
    cv::Mat frame = read_bgr(seq.frames[i]);
    Box b;
    auto t0 = std::chrono::steady_clock::now();
    if (i == start) {
      b = seq.groundtruth.at(start);
      tracker.init(frame, b);
    } else {
      b = tracker.update(frame);
      run.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ++run.tracked;
    }
    boxes.push_back(b);
    if (csv) csv << i << "," << b.x << "," << b.y << "," << b.w << "," << b.h << "\n";
  }
  run.scores = lorat::score_sequence(boxes, std::vector<Box>(seq.groundtruth.begin() + long(start), seq.groundtruth.end()));
  return run;
}

// The frames a sequence's passes start from: frame 0 (its box is checked at load), then the rest
// of `starts` evenly spaced over the frames, each moved on to the next frame with a valid
// ground-truth box and at least one frame after it; duplicates dropped. {0} for one pass.
std::vector<size_t> start_frames(const lorat::Sequence& seq, int starts) {
  std::vector<size_t> out = {0};
  size_t n = std::min(seq.frames.size(), seq.groundtruth.size());
  for (int k = 1; k < starts; ++k) {
    size_t i = size_t(k) * n / size_t(starts);
    while (i + 1 < n && !seq.groundtruth[i].valid()) ++i;
    if (i + 1 < n && seq.groundtruth[i].valid() && out.back() != i) out.push_back(i);
  }
  return out;
}

void print_row(const std::string& tracker, const std::string& seq, const lorat::SequenceScores& s, double fps) {
  std::printf("%-12s %-16s %6d %7.3f %7.3f %7.3f %8.1f\n", tracker.c_str(), seq.c_str(), s.frames, s.auc, s.precision_20,
              s.norm_precision_auc, fps);
}

}  // namespace

int cmd_eval(int argc, char** argv) {
  std::set<std::string> valued = kModelOptions;
  valued.insert({"sequences", "baseline", "output-dir", "search-scale", "starts"});
  Args args(argc, argv, valued, {"one-step", "follow", "reach"});
  std::vector<std::string> dirs = args.positional();
  if (args.has("sequences")) dirs.insert(dirs.begin(), args.get("sequences"));
  if (dirs.empty()) throw Error("usage: lorat eval --sequences DIR... --model M [--baseline csrt,kcf] [--output-dir D] [--starts K] [--one-step [--search-scale K | --follow | --reach]]");
  const bool one_step = args.has("one-step");
  if (one_step && (args.has("baseline") || args.has("output-dir") || args.has("starts")))
    throw Error("--one-step scores the model alone (with the previous ground-truth box beside it): drop --baseline, --output-dir and --starts");
  const int starts = args.get_int("starts", 1, 1, 1000);
  if (one_step && !args.has("model") && !args.has("base")) throw Error("--one-step needs a model: give --model (or --variant/--base)");
  if (args.has("search-scale") && !one_step) throw Error("--search-scale is a --one-step option");
  const bool follow = args.has("follow");
  if (follow && !one_step) throw Error("--follow is a --one-step option");
  if (follow && args.has("search-scale")) throw Error("--follow sets its own search scales (0.77 and 1.3): drop --search-scale");
  const bool reach = args.has("reach");
  if (reach && !one_step) throw Error("--reach is a --one-step option");
  if (reach && (follow || args.has("search-scale"))) throw Error("--reach searches at the previous box's size: drop --follow and --search-scale");
  const double search_scale = args.get_double("search-scale", 1.0);
  if (!(search_scale > 0 && search_scale < 100)) throw Error("--search-scale must be a positive factor below 100");
  std::vector<lorat::Sequence> sequences;
  for (const auto& d : dirs)
    for (const auto& s : find_sequences(d)) {
      sequences.push_back(lorat::load_sequence(s, true));
      if (sequences.back().groundtruth.empty() || !sequences.back().groundtruth[0].valid())
        throw Error(s + ": the first ground-truth box is missing or empty");
    }

  std::vector<std::pair<std::string, std::unique_ptr<EvalTracker>>> trackers;
  std::unique_ptr<LoadedModel> loaded;
  if (args.has("model") || args.has("base")) {
    loaded = std::make_unique<LoadedModel>(load_model_from_args(args));
    std::fprintf(stderr, "model: %s\n", loaded->description.c_str());
    if (one_step) {
      if (follow)
        print_follow(*loaded, sequences);
      else if (reach)
        print_reach(*loaded, sequences);
      else
        print_one_step(*loaded, sequences, search_scale);
      return 0;
    }
    trackers.emplace_back("lorat", std::make_unique<LoratEval>(*loaded));
  }
  std::stringstream baselines(args.get("baseline"));
  for (std::string b; std::getline(baselines, b, ',');) {
    if (b != "csrt" && b != "kcf") throw Error("--baseline takes csrt and/or kcf, not '" + b + "'");
    trackers.emplace_back(b, std::make_unique<OpenCvEval>(b));
  }
  if (trackers.empty()) throw Error("nothing to evaluate: give --model (or --variant/--base) and/or --baseline csrt,kcf");
  std::string out_dir = args.get("output-dir");

  std::printf("%-12s %-16s %6s %7s %7s %7s %8s\n", "tracker", "sequence", "frames", "AUC", "P@20", "NP", "FPS");
  std::vector<Series> success_curves, precision_curves;
  for (auto& [name, tracker] : trackers) {
    std::vector<lorat::SequenceScores> all;
    double seconds = 0;
    int tracked = 0;
    if (!out_dir.empty()) fs::create_directories(fs::path(out_dir) / name);
    for (const auto& seq : sequences) {
      std::vector<lorat::SequenceScores> passes;
      double seq_seconds = 0;
      int seq_tracked = 0;
      for (size_t start : start_frames(seq, starts)) {
        std::string csv;
        if (!out_dir.empty()) {
          std::string file = start == 0 ? seq.name + ".csv" : seq.name + "-from-" + std::to_string(start) + ".csv";
          csv = (fs::path(out_dir) / name / file).string();
        }
        Run run = run_one(*tracker, seq, start, csv);
        passes.push_back(run.scores);
        seq_seconds += run.seconds;
        seq_tracked += run.tracked;
      }
      lorat::SequenceScores pooled = lorat::combine(passes);
      print_row(name, seq.name, pooled, seq_seconds > 0 ? seq_tracked / seq_seconds : 0);
      all.push_back(pooled);
      seconds += seq_seconds;
      tracked += seq_tracked;
    }
    lorat::SequenceScores overall = lorat::combine(all);
    print_row(name, "ALL", overall, seconds > 0 ? tracked / seconds : 0);
    char label[64];
    std::snprintf(label, sizeof label, "%s [%.3f]", name.c_str(), overall.auc);
    Series success{label, {}, overall.success}, precision{name, {}, overall.precision};
    for (size_t k = 0; k < success.y.size(); ++k) success.x.push_back(k / 20.0);
    for (size_t k = 0; k < precision.y.size(); ++k) precision.x.push_back(double(k));
    std::snprintf(label, sizeof label, "%s [%.3f]", name.c_str(), overall.precision_20);
    precision.name = label;
    success_curves.push_back(success);
    precision_curves.push_back(precision);
  }
  if (!out_dir.empty()) {
    std::string protocol = starts == 1 ? "one pass" : std::to_string(starts) + " starts";
    write_plot(out_dir + "/success.png", "success plot (" + protocol + ") [AUC]", "overlap threshold", "success rate", success_curves);
    write_plot(out_dir + "/precision.png", "precision plot (" + protocol + ") [at 20 px]", "location error threshold (px)", "precision", precision_curves);
  }
  if (!out_dir.empty())
    std::fprintf(stderr, "boxes written under %s/<tracker>/<sequence>.csv; plots: success.png, precision.png\n", out_dir.c_str());
  return 0;
}

}  // namespace lorat_cli
