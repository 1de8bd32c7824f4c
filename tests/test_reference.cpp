// The authors' own code on a 2-block LoRAT-S-224 (../shared/data/lorat-reference): the same
// position embedding, crops, mask, raw outputs and, frame after frame, the same tracked boxes.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "lorat/checkpoint.h"
#include "lorat/config.h"
#include "lorat/crop.h"
#include "lorat/tracker.h"
#include "test_util.h"

using namespace lorat;
using lorat_test::read_npy;

namespace {

torch::Tensor npy_tensor(const std::string& path) {
  auto npy = read_npy(path);
  if (!npy.i64.empty()) return at::from_blob(npy.i64.data(), npy.shape, at::kLong).clone();
  return at::from_blob(npy.f32.data(), npy.shape, at::kFloat).clone();
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(at::kFloat) - b.to(at::kFloat)).abs().max().item<double>();
}

LoratModel reference_model(const std::string& dir, const std::string& variant) {
  ModelConfig config = find_variant("S-224");
  if (variant == "no_lora") {
    // Base, head and type embedding from the files, the adapter left out.
    LoratModel model = load_authors_model(config, dir + "/base.pth", dir + "/lorat.safetensors", false);
    model->remove_lora();
    return model;
  }
  return load_authors_model(config, dir + "/base.pth", dir + "/lorat.safetensors", variant == "merged");
}

cv::Mat couple_frame(const std::string& seq, int index) {
  char name[32];
  std::snprintf(name, sizeof name, "/img/%04d.jpg", index + 1);
  cv::Mat bgr = cv::imread(seq + name, cv::IMREAD_COLOR);
  EXPECT_FALSE(bgr.empty());
  return bgr;
}

ImageView view(const cv::Mat& bgr) { return ImageView::packed(PixelFormat::BGR, bgr.data, bgr.cols, bgr.rows, int(bgr.step[0])); }

struct CsvRow {
  int frame;
  double x, y, w, h, confidence, sx, sy, tx, ty;
  int best_idx;
};

std::vector<CsvRow> read_csv(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::vector<CsvRow> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) f.push_back(cell);
    while (f.size() < 18) f.push_back("");
    CsvRow r{};
    r.frame = std::stoi(f[0]);
    r.x = std::stod(f[2]), r.y = std::stod(f[3]), r.w = std::stod(f[4]), r.h = std::stod(f[5]);
    r.confidence = std::stod(f[6]);
    r.sx = std::stod(f[12]), r.sy = std::stod(f[13]), r.tx = std::stod(f[14]), r.ty = std::stod(f[15]);
    r.best_idx = f[16].empty() ? -1 : std::stoi(f[16]);
    rows.push_back(r);
  }
  return rows;
}

}  // namespace

TEST(Reference, PosEmbedResize) {
  LORAT_REQUIRE_SHARED(dir, "lorat-reference");
  LoratModel model = load_authors_model(find_variant("S-224"), dir + "/base.pth", "", false);
  EXPECT_EQ(model->config.depth, 2);  // read from the checkpoint's keys
  EXPECT_LT(max_abs_diff(model->search_pos_embed(), npy_tensor(dir + "/io/pos_embed_16x16.npy")), 1e-6);
}

class ReferenceOutputs : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(ReferenceOutputs, MatchTheAuthorsCode) {
  LORAT_REQUIRE_SHARED(dir, "lorat-reference");
  auto [input, variant] = GetParam();
  LoratModel model = reference_model(dir, variant);
  EXPECT_EQ(model->has_lora(), variant == "unmerged");
  std::string io = dir + "/io/" + input + "_";
  torch::NoGradGuard no_grad;
  auto out = model->forward(npy_tensor(io + "z.npy"), npy_tensor(io + "x.npy"), npy_tensor(io + "z_feat_mask.npy"));
  std::string ref = io + variant + "_";
  EXPECT_LT(max_abs_diff(out.score_logits, npy_tensor(ref + "score_logits.npy")), 2e-5);
  EXPECT_LT(max_abs_diff(out.box_logits, npy_tensor(ref + "box_logits.npy")), 2e-5);
  EXPECT_LT(max_abs_diff(out.boxes, npy_tensor(ref + "boxes.npy")), 2e-6);
  if (variant == "merged") {
    // Negative control: the adapter changes the output, so it was not silently skipped.
    EXPECT_GT(max_abs_diff(out.score_logits, npy_tensor(io + "no_lora_score_logits.npy")), 0.1);
  }
}

INSTANTIATE_TEST_SUITE_P(All, ReferenceOutputs,
                         ::testing::Combine(::testing::Values("real", "random"),
                                            ::testing::Values("merged", "unmerged", "no_lora")));

TEST(Reference, TemplateAndSearchCropsAndMask) {
  LORAT_REQUIRE_SHARED(dir, "lorat-reference");
  LORAT_REQUIRE_SHARED(seq, "sequences/Couple");
  LoratModel model = load_authors_model(find_variant("S-224"), dir + "/base.pth", dir + "/lorat.safetensors", true);
  Tracker tracker(model);
  cv::Mat f0 = couple_frame(seq, 0), f1 = couple_frame(seq, 1);
  int id = tracker.add_target(view(f0), Box{50, 46, 25, 62});
  auto z = tracker.template_crop(id).unsqueeze(0);
  // JPEG decoders may differ by a grey level on a few pixels; the crop maths must not.
  auto z_ref = npy_tensor(dir + "/io/real_z.npy");
  double z_diff = max_abs_diff(z, z_ref);
  EXPECT_LT(z_diff, 1e-4) << "template crop differs (max " << z_diff << ")";
  EXPECT_TRUE(at::equal(tracker.template_mask(id).unsqueeze(0), npy_tensor(dir + "/io/real_z_feat_mask.npy")));

  // The search crop of frame 1, rendered from the crop the reference used.
  auto rows = read_csv(dir + "/tracking/Couple.csv");
  CropPlan plan = plan_crop(enforce_min_size(Box{50, 46, 25, 62}, 10), 4.0, 224, f1.cols, f1.rows);
  EXPECT_NEAR(plan.effective.sx, rows[1].sx, 1e-6);
  EXPECT_NEAR(plan.effective.sy, rows[1].sy, 1e-6);
  EXPECT_NEAR(plan.effective.tx, rows[1].tx, 1e-5);
  EXPECT_NEAR(plan.effective.ty, rows[1].ty, 1e-5);
  double fill[3];
  mean_rgb(view(f0), fill);
  auto x = torch::empty({1, 3, 224, 224});
  render_crop(view(f1), plan, fill, x.data_ptr<float>());
  double x_diff = max_abs_diff(x, npy_tensor(dir + "/io/real_x.npy"));
  EXPECT_LT(x_diff, 1e-4) << "search crop differs (max " << x_diff << ")";
}

TEST(Reference, TracksCoupleFrameAfterFrame) {
  LORAT_REQUIRE_SHARED(dir, "lorat-reference");
  LORAT_REQUIRE_SHARED(seq, "sequences/Couple");
  auto rows = read_csv(dir + "/tracking/Couple.csv");
  ASSERT_EQ(rows.size(), 140u);
  LoratModel model = load_authors_model(find_variant("S-224"), dir + "/base.pth", dir + "/lorat.safetensors", true);
  Tracker tracker(model);
  cv::Mat frame = couple_frame(seq, 0);
  tracker.add_target(view(frame), Box{rows[0].x, rows[0].y, rows[0].w, rows[0].h});
  double worst = 0;
  int wrong_cells = 0;
  for (int k = 1; k < 140; ++k) {
    frame = couple_frame(seq, k);
    auto r = tracker.track(view(frame)).at(0);
    const CsvRow& e = rows[k];
    if (r.cell != e.best_idx) ++wrong_cells;
    EXPECT_EQ(r.cell, e.best_idx) << "frame " << k;
    double d = std::max({std::abs(r.box.x - e.x), std::abs(r.box.y - e.y), std::abs(r.box.w - e.w), std::abs(r.box.h - e.h)});
    worst = std::max(worst, d);
    EXPECT_LT(d, 1e-3) << "frame " << k << ": box " << r.box.x << "," << r.box.y << "," << r.box.w << "," << r.box.h;
    EXPECT_NEAR(r.score, e.confidence, 1e-4) << "frame " << k;
    if (wrong_cells > 3) break;  // one divergence spoils the rest; the first report is the useful one
  }
  std::printf("Couple: worst box difference from the authors' code %.2e px, %d cells differ\n", worst, wrong_cells);
}
