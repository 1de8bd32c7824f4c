// lorat track: one pass over a sequence or video, writing frame,x,y,w,h,score rows.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "args.h"
#include "commands.h"
#include "frame_source.h"
#include "lorat/config.h"
#include "lorat/error.h"
#include "lorat/sequence.h"
#include "model_loading.h"

namespace lorat_cli {

using lorat::Error;

int cmd_track(int argc, char** argv) {
  std::set<std::string> valued = kModelOptions;
  valued.insert({"init", "output", "frames", "size-update-rate"});
  Args args(argc, argv, valued, {});
  if (args.positional().size() != 1) throw Error("usage: lorat track SEQUENCE_DIR|VIDEO [--model M] [--init x,y,w,h] [--output F]");
  FrameSource source(args.positional()[0]);
  int max_frames = args.get_int("frames", 0, 0, 1 << 30);
  // 0: the model's own size smoothing (lorattrack's size-update-rate).
  const double size_update_rate = args.get_double("size-update-rate", 0);
  if (size_update_rate != 0 && !lorat::ModelConfig::valid_size_update_rate(size_update_rate))
    throw Error("--size-update-rate must be in (0, 1] (1 = the model's size as it is), or 0 for the model's own setting");

  lorat::Box init;
  if (args.has("init")) {
    init = lorat::parse_box(args.get("init"));
  } else if (!source.groundtruth().empty() && source.groundtruth()[0].valid()) {
    init = source.groundtruth()[0];
  } else {
    throw Error(args.positional()[0] + ": no ground truth to start from: give --init x,y,w,h");
  }

  // Open the output before the (slow) model load, so a bad path fails at once.
  std::unique_ptr<std::ofstream> file;
  std::ostream* out = &std::cout;
  if (args.has("output")) {
    file = std::make_unique<std::ofstream>(args.get("output"));
    if (!*file) throw Error(args.get("output") + ": cannot write");
    out = file.get();
  }

  LoadedModel loaded = load_model_from_args(args, /*convert_precision=*/true, /*use_default_model=*/true);
  lorat::Tracker tracker(loaded.model, {loaded.device, size_update_rate});

  cv::Mat frame;
  if (!source.next(frame)) throw Error(args.positional()[0] + ": no frames");
  tracker.add_target(view_of(frame), init);
  std::cerr << "model: " << loaded.description << "\n";
  char line[256];
  std::snprintf(line, sizeof line, "%d,%.4f,%.4f,%.4f,%.4f,%.6f\n", 0, init.x, init.y, init.w, init.h, 1.0);
  *out << "frame,x,y,w,h,score\n" << line;

  double track_seconds = 0, iou_sum = 0;
  int tracked = 0, scored = 0;
  auto wall_start = std::chrono::steady_clock::now();
  while ((max_frames == 0 || tracked + 1 < max_frames) && source.next(frame)) {
    auto t0 = std::chrono::steady_clock::now();
    auto results = tracker.track(view_of(frame));
    track_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const lorat::Box& b = results.at(0).box;
    std::snprintf(line, sizeof line, "%d,%.4f,%.4f,%.4f,%.4f,%.6f\n", source.index(), b.x, b.y, b.w, b.h, results[0].score);
    *out << line;
    ++tracked;
    const auto& gt = source.groundtruth();
    if (size_t(source.index()) < gt.size() && gt[source.index()].valid()) {
      iou_sum += lorat::iou(b, gt[source.index()]);
      ++scored;
    }
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  out->flush();
  if (file && !*file) throw Error(args.get("output") + ": write failed");
  std::fprintf(stderr, "%s: tracked %d frames: %.1f FPS (crop + model + decode), %.1f FPS with frame decoding\n",
               source.name().c_str(), tracked, track_seconds > 0 ? tracked / track_seconds : 0.0, wall > 0 ? tracked / wall : 0.0);
  if (scored) std::fprintf(stderr, "%s: mean IoU with the ground truth %.3f over %d frames\n", source.name().c_str(), iou_sum / scored, scored);
  if (args.has("output")) std::fprintf(stderr, "boxes written to %s\n", args.get("output").c_str());
  return 0;
}

}  // namespace lorat_cli
