// The tracker: targets added and removed, bad boxes, and a batch of targets tracked together
// giving the same boxes as each target alone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <cmath>
#include <vector>

#include "lorat/config.h"
#include "lorat/error.h"
#include "lorat/tracker.h"

using namespace lorat;
using ::testing::HasSubstr;

namespace {

// A 160x120 picture with a bright square at (x, y) on a textured background.
std::vector<uint8_t> scene(int sx, int sy) {
  const int W = 160, H = 120;
  std::vector<uint8_t> rgb(W * H * 3);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      uint8_t* p = &rgb[(y * W + x) * 3];
      bool in = x >= sx && x < sx + 20 && y >= sy && y < sy + 16;
      p[0] = in ? 250 : uint8_t((x * 3 + y) % 90);
      p[1] = in ? 40 : uint8_t((y * 5) % 90);
      p[2] = in ? 40 : uint8_t((x + y) % 90);
    }
  return rgb;
}

ImageView view(const std::vector<uint8_t>& rgb) { return ImageView::packed(PixelFormat::RGB, rgb.data(), 160, 120, 160 * 3); }

LoratModel tiny_model() {
  torch::manual_seed(2);
  return LoratModel(find_variant("T-112"));
}

std::string error_of(Tracker& t, const ImageView& v, Box b) {
  try {
    t.add_target(v, b);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Tracker, BadBoxesAreRefusedWithAReason) {
  Tracker t(tiny_model());
  auto f = scene(50, 40);
  EXPECT_THAT(error_of(t, view(f), Box{10, 10, 0, 10}), HasSubstr("width and height must be positive"));
  EXPECT_THAT(error_of(t, view(f), Box{10, 10, 5, -3}), HasSubstr("width and height must be positive"));
  EXPECT_THAT(error_of(t, view(f), Box{170, 10, 5, 5}), HasSubstr("outside the 160x120 frame"));
  EXPECT_THAT(error_of(t, view(f), Box{-30, 10, 20, 5}), HasSubstr("outside the 160x120 frame"));
  EXPECT_EQ(t.size(), 0u);
}

TEST(Tracker, AddRemoveAndNoTargets) {
  Tracker t(tiny_model());
  auto f = scene(50, 40);
  EXPECT_TRUE(t.track(view(f)).empty());
  int a = t.add_target(view(f), Box{50, 40, 20, 16});
  int b = t.add_target(view(f), Box{5, 5, 30, 30});
  EXPECT_NE(a, b);
  EXPECT_EQ(t.track(view(f)).size(), 2u);
  EXPECT_TRUE(t.remove_target(a));
  EXPECT_FALSE(t.remove_target(a));
  auto r = t.track(view(f));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, b);
}

TEST(Tracker, SetBoxMovesTheNextSearchNotTheTemplate) {
  Tracker t(tiny_model());
  auto f = scene(50, 40);
  int id = t.add_target(view(f), Box{50, 40, 20, 16});
  const Transform template_before = t.template_transform(id);
  const Box moved{80, 20, 30, 24};
  t.set_box(id, moved);
  const auto& config = t.model()->config;
  const Transform expected = plan_crop(moved, config.search_factor, config.search_size, 160, 120).effective;
  const Transform used = t.track(view(f)).at(0).crop;
  EXPECT_DOUBLE_EQ(used.sx, expected.sx);
  EXPECT_DOUBLE_EQ(used.tx, expected.tx);
  EXPECT_DOUBLE_EQ(used.ty, expected.ty);
  EXPECT_DOUBLE_EQ(t.template_transform(id).tx, template_before.tx);
  EXPECT_THROW(t.set_box(id + 1, moved), Error);
  EXPECT_THROW(t.set_box(id, Box{1, 1, 0, 5}), Error);
}

TEST(Tracker, BatchedTargetsGiveTheSameBoxesAsSingleOnes) {
  LoratModel model = tiny_model();
  std::vector<Box> starts = {{50, 40, 20, 16}, {5, 5, 30, 30}, {100, 70, 12, 40}, {140, 100, 20, 20}};
  std::vector<std::vector<uint8_t>> frames;
  for (int k = 0; k < 6; ++k) frames.push_back(scene(50 + 3 * k, 40 + 2 * k));
  Tracker together(model);
  for (const auto& b : starts) together.add_target(view(frames[0]), b);
  std::vector<std::vector<TrackResult>> batch;
  for (int k = 1; k < 6; ++k) batch.push_back(together.track(view(frames[k])));
  for (size_t i = 0; i < starts.size(); ++i) {
    Tracker alone(model);
    alone.add_target(view(frames[0]), starts[i]);
    for (int k = 1; k < 6; ++k) {
      TrackResult r = alone.track(view(frames[k])).at(0);
      const TrackResult& b = batch[k - 1][i];
      EXPECT_EQ(r.cell, b.cell);
      EXPECT_NEAR(r.box.x, b.box.x, 1e-3);
      EXPECT_NEAR(r.box.w, b.box.w, 1e-3);
      EXPECT_NEAR(r.score, b.score, 1e-5);
    }
  }
}

TEST(Tracker, BoxesStayInsideTheFrame) {
  Tracker t(tiny_model());
  auto f = scene(140, 100);
  t.add_target(view(f), Box{150, 110, 10, 10});
  for (int k = 0; k < 5; ++k) {
    auto r = t.track(view(f)).at(0);
    EXPECT_GE(r.box.x, 0);
    EXPECT_GE(r.box.y, 0);
    EXPECT_LE(r.box.x2(), 160);
    EXPECT_LE(r.box.y2(), 120);
    EXPECT_GT(r.box.w, 0);
    EXPECT_GE(r.score, 0);
    EXPECT_LE(r.score, 1);
  }
}

TEST(Tracker, OnACudaDeviceTheSearchCropsTrackAsOnTheCpu) {
  // The GPU search crops (the CUDA kernel where it is built, else the CPU crops moved over) feed
  // the model what the CPU path feeds it: one step of four targets gives the same cells and scores,
  // within what the GPU's own arithmetic changes, in fp32 and fp16.
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device (or LibTorch without CUDA): the device=cuda path was not run";
  std::vector<Box> starts = {{50, 40, 20, 16}, {5, 5, 30, 30}, {100, 70, 12, 40}, {140, 100, 20, 20}};
  auto f0 = scene(50, 40), f1 = scene(54, 43);
  Tracker cpu(tiny_model());
  for (const auto& b : starts) cpu.add_target(view(f0), b);
  std::vector<TrackResult> want = cpu.track(view(f1));
  for (auto [dtype, tol] : {std::pair{at::kFloat, 1e-2}, std::pair{at::kHalf, 3e-2}}) {
    SCOPED_TRACE(c10::toString(dtype));
    LoratModel model = tiny_model();
    model->to_inference(torch::Device(torch::kCUDA), dtype);
    Tracker gpu(model, {torch::Device(torch::kCUDA)});
    for (const auto& b : starts) gpu.add_target(view(f0), b);
    std::vector<TrackResult> got = gpu.track(view(f1));
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(got[i].score, want[i].score, tol) << "target " << i;
      // A near tie between two cells may go either way; a clear winner must not move.
      if (want[i].margin > 5 * tol) {
        EXPECT_EQ(got[i].cell, want[i].cell) << "target " << i;
        EXPECT_NEAR(got[i].box.x, want[i].box.x, 1.0) << "target " << i;
        EXPECT_NEAR(got[i].box.w, want[i].box.w, 1.0) << "target " << i;
      }
    }
  }
}

// size_update_rate r: the box keeps the full tracker's centre and moves its size only the share r
// of the way (in log space) from the previous box's to the model's answer, which is reported too.
TEST(Tracker, SizeUpdateRateTakesThatShareOfTheSizeChange) {
  auto f = scene(70, 50);
  const Box start{72, 52, 16, 12};  // a search crop of about 28 px about (80, 58): any answer stays inside
  Tracker full(tiny_model());
  ModelConfig c = find_variant("T-112");
  c.size_update_rate = 0.25;
  torch::manual_seed(2);
  Tracker damped{LoratModel(c)};
  full.add_target(view(f), start);
  damped.add_target(view(f), start);
  TrackResult damped_result = damped.track(view(f)).at(0);
  Box a = full.track(view(f)).at(0).box, b = damped_result.box;
  ASSERT_TRUE(a.x > 0 && a.y > 0 && a.x2() < 160 && a.y2() < 120) << "the full answer was clipped: the comparison needs it inside";
  ASSERT_GT(std::abs(std::log(a.w / start.w)) + std::abs(std::log(a.h / start.h)), 0.05) << "the model kept the size: nothing to smooth";
  EXPECT_NEAR(b.cx(), a.cx(), 1e-6);
  EXPECT_NEAR(b.cy(), a.cy(), 1e-6);
  EXPECT_NEAR(std::log(b.w / start.w), 0.25 * std::log(a.w / start.w), 1e-6);
  EXPECT_NEAR(std::log(b.h / start.h), 0.25 * std::log(a.h / start.h), 1e-6);
  // `answer` is the model's own box, as the unsmoothed tracker reports it.
  EXPECT_NEAR(damped_result.answer.w, a.w, 1e-6);
  EXPECT_NEAR(damped_result.answer.h, a.h, 1e-6);
  EXPECT_NEAR(damped_result.answer.cx(), a.cx(), 1e-6);
  // TrackerOptions::size_update_rate replaces the model's setting (lorattrack's size-update-rate).
  Tracker overridden(tiny_model(), TrackerOptions{torch::kCPU, 0.25});
  overridden.add_target(view(f), start);
  Box o = overridden.track(view(f)).at(0).box;
  EXPECT_NEAR(o.w, b.w, 1e-6);
  EXPECT_NEAR(o.h, b.h, 1e-6);
  try {
    Tracker bad(tiny_model(), TrackerOptions{torch::kCPU, 1.5});
    ADD_FAILURE() << "a rate of 1.5 was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("size_update_rate must be in (0, 1]"));
  }
}
