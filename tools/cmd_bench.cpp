// lorat bench: where a frame's time goes (crop, forward, decode), frames per second, the model's
// FLOPs per frame against the machine's measured matrix-product peak in the same precision, the
// cost of unmerged LoRA against merged, and of N targets against one. All in one run.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>

#include "args.h"
#include "commands.h"
#include "lorat/checkpoint.h"
#include "lorat/error.h"
#include "lorat/flops.h"
#include "lorat/tracker.h"
#include "model_loading.h"

namespace lorat_cli {

namespace {

using clock_type = std::chrono::steady_clock;
double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

// A textured 640x480 RGB frame, so crops are not all one colour.
std::vector<uint8_t> test_frame(int w, int h) {
  std::vector<uint8_t> rgb(size_t(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &rgb[(size_t(y) * w + x) * 3];
      p[0] = uint8_t(x * 7 + y), p[1] = uint8_t(y * 5), p[2] = uint8_t((x ^ y) * 3);
    }
  return rgb;
}

struct FrameCost {
  double preprocess = 0, forward = 0, decode = 0, total = 0;
};

FrameCost time_tracker(lorat::LoratModel model, torch::Device device, int targets, int frames) {
  const int W = 640, H = 480;
  auto rgb = test_frame(W, H);
  lorat::ImageView view = lorat::ImageView::packed(lorat::PixelFormat::RGB, rgb.data(), W, H, W * 3);
  lorat::Tracker tracker(model, {device});
  for (int i = 0; i < targets; ++i) tracker.add_target(view, lorat::Box{40.0 + (i % 4) * 140, 40.0 + (i / 4) * 120, 60, 80});
  for (int i = 0; i < 3; ++i) tracker.track(view);  // warm-up: allocations, first touch
  FrameCost c;
  for (int i = 0; i < frames; ++i) {
    auto t0 = clock_type::now();
    tracker.track(view);
    c.total += since(t0);
    c.preprocess += tracker.last_timings().preprocess;
    c.forward += tracker.last_timings().forward;
    c.decode += tracker.last_timings().decode;
  }
  c.total /= frames, c.preprocess /= frames, c.forward /= frames, c.decode /= frames;
  return c;
}

// The machine's matrix-product rate in this precision and thread count (GFLOP/s): the best of a
// few large products.
double matmul_peak(at::ScalarType dtype, torch::Device device) {
  const int64_t n = 1024;
  auto a = at::randn({n, n}).to(device, dtype), b = at::randn({n, n}).to(device, dtype);
  double best = 1e30;
  for (int i = 0; i < 6; ++i) {
    auto t0 = clock_type::now();
    auto c = at::matmul(a, b);
    if (device.is_cuda()) c.cpu();
    best = std::min(best, since(t0));
  }
  return 2.0 * n * n * n / best / 1e9;
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  std::set<std::string> valued = kModelOptions;
  valued.insert({"targets", "frames"});
  Args args(argc, argv, valued, {"no-unmerged"});
  const int targets = args.get_int("targets", 1, 1, 64), frames = args.get_int("frames", 20, 1, 100000);
  LoadedModel loaded = load_model_from_args(args);
  const lorat::ModelConfig& c = loaded.model->config;
  const at::ScalarType dtype = loaded.model->token_type_embed.scalar_type();
  std::printf("model: %s\n", loaded.description.c_str());

  FrameCost one = time_tracker(loaded.model, loaded.device, 1, frames);
  FrameCost many = targets > 1 ? time_tracker(loaded.model, loaded.device, targets, frames) : one;
  const double flops = lorat::forward_flops(c);
  const double peak = matmul_peak(dtype, loaded.device);
  auto row = [&](const char* what, const FrameCost& f, int n) {
    std::printf("%-10s %8.2f %8.2f %8.2f %8.2f %8.1f %9.1f %8.0f%%\n", what, f.preprocess * 1e3, f.forward * 1e3, f.decode * 1e3, f.total * 1e3,
                1.0 / f.total, flops * n / f.forward / 1e9, 100.0 * flops * n / f.forward / 1e9 / peak);
  };
  std::printf("%-10s %8s %8s %8s %8s %8s %9s %9s\n", "targets", "crop ms", "model ms", "decode", "total ms", "FPS", "GFLOP/s", "of peak");
  row("1", one, 1);
  if (targets > 1) row(std::to_string(targets).c_str(), many, targets);
  std::printf("model: %.2f GFLOP per target and frame (%.2f GMAC); matrix-product peak measured now: %.1f GFLOP/s (%s, %d threads)\n",
              flops / 1e9, flops / 2e9, peak, c10::toString(dtype), at::get_num_threads());
  if (targets > 1)
    std::printf("%d targets cost %.2fx one target (%.2fx per target)\n", targets, many.total / one.total, many.total / one.total / targets);

  // Unmerged LoRA: the same model with an adapter kept as a separate branch. --no-unmerged skips
  // it (tools/bench_gpu.sh times many variants and needs only the rows above).
  if (!loaded.model->has_lora() && !args.has("no-unmerged")) {
    lorat::LoratModel unmerged(c);
    {
      auto src = loaded.model->named_tensors(), dst = unmerged->named_tensors();
      torch::NoGradGuard g;
      for (auto& [name, t] : dst) t.copy_(src.at(name).to(at::kFloat));
    }
    unmerged->add_lora(c.lora_rank, c.lora_scale());
    unmerged->to_inference(loaded.device, dtype);
    FrameCost u = time_tracker(unmerged, loaded.device, 1, frames);
    std::printf("unmerged LoRA (rank %d): model %.2f ms vs merged %.2f ms: x%.2f (%.1f%% more FLOPs)\n", c.lora_rank, u.forward * 1e3,
                one.forward * 1e3, u.forward / one.forward, 100.0 * lorat::unmerged_lora_flops(c, c.lora_rank) / flops);
  }
  return 0;
}

}  // namespace lorat_cli
