// Training pieces: the loss on hand-made boxes, the schedule, reproducible pairs, and a run that
// stops and resumes exactly as if it had not stopped.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "lorat/checkpoint.h"
#include "lorat/config.h"
#include "lorat/datasets.h"
#include "lorat/loss.h"
#include "lorat/schedule.h"
#include "lorat/trainer.h"
#include "test_util.h"

using namespace lorat;
namespace fs = std::filesystem;

TEST(Loss, PositiveCellsAreTheCellsTheBoxCovers) {
  // 4x4 grid; box from 0.25 to 0.75 covers cells 1..2 in x and y exactly (ends exclusive).
  auto pos = positive_cells(torch::tensor({{0.25f, 0.25f, 0.75f, 0.75f}}), 4, 4);
  EXPECT_EQ(pos.sum().item<float>(), 4);
  EXPECT_EQ(pos[0][1][1].item<float>(), 1);
  EXPECT_EQ(pos[0][0][1].item<float>(), 0);
  auto wider = positive_cells(torch::tensor({{0.2f, 0.25f, 0.76f, 0.75f}}), 4, 4);
  EXPECT_EQ(wider.sum().item<float>(), 8);  // reaches into columns 0 and 3
}

TEST(Loss, PerfectBoxesHaveNoGiouLossAndTheirIouAsTarget) {
  auto target = torch::tensor({{0.25f, 0.25f, 0.75f, 0.75f}});
  auto boxes = target.view({1, 1, 1, 4}).expand({1, 4, 4, 4}).contiguous();
  auto logits = torch::zeros({1, 4, 4});
  LossTerms l = tracking_loss(logits, boxes, target);
  EXPECT_NEAR(l.giou.item<float>(), 0, 1e-6);
  EXPECT_NEAR(l.mean_iou.item<float>(), 1, 1e-6);
  // BCE with logit 0: log 2 per cell whatever the target; 16 cells over 4 positives.
  EXPECT_NEAR(l.bce.item<float>(), 16 * std::log(2.0) / 4, 1e-5);
}

TEST(Loss, L1TermCountsOnlyWhenWeightedAndIsUnbiasedInSize) {
  auto target = torch::tensor({{0.25f, 0.25f, 0.75f, 0.75f}});
  auto logits = torch::zeros({1, 4, 4});
  auto boxes_of = [](float grow) {
    return torch::tensor({0.25f - grow, 0.25f - grow, 0.75f + grow, 0.75f + grow}).view({1, 1, 1, 4}).expand({1, 4, 4, 4}).contiguous();
  };
  LossTerms spec = tracking_loss(logits, boxes_of(0.05f), target), with_l1 = tracking_loss(logits, boxes_of(0.05f), target, {}, 2.0);
  EXPECT_NEAR(spec.l1.item<float>(), 0.2f, 1e-6);  // each corner 0.05 off
  EXPECT_NEAR(spec.total.item<float>(), (spec.bce + spec.giou).item<float>(), 1e-6);
  EXPECT_NEAR(with_l1.total.item<float>(), (spec.bce + spec.giou).item<float>() + 2 * 0.2f, 1e-5);
  // GIoU costs a box 0.05 too large less than one 0.05 too small; L1 charges both the same.
  LossTerms larger = tracking_loss(logits, boxes_of(0.05f), target), smaller = tracking_loss(logits, boxes_of(-0.05f), target);
  EXPECT_LT(larger.giou.item<float>(), smaller.giou.item<float>());
  EXPECT_NEAR(larger.l1.item<float>(), smaller.l1.item<float>(), 1e-6);
}

TEST(Loss, GiouOfDisjointBoxesIsBelowZero) {
  auto a = torch::tensor({0.0f, 0.0f, 0.2f, 0.2f}), b = torch::tensor({0.6f, 0.6f, 0.8f, 0.8f});
  EXPECT_NEAR(box_iou(a, b).item<float>(), 0, 1e-7);
  // hull 0.64, union 0.08: GIoU = 0 - 0.56 / 0.64
  EXPECT_NEAR(box_giou(a, b).item<float>(), -0.56f / 0.64f, 1e-6);
}

TEST(Schedule, WarmUpThenCosine) {
  Schedule s;
  s.base_lr = 1e-3, s.warmup_start = 1e-7, s.min_lr = 1e-6, s.warmup_steps = 10, s.total_steps = 110;
  EXPECT_DOUBLE_EQ(s.lr_at(0), 1e-7);
  EXPECT_NEAR(s.lr_at(5), 1e-7 + (1e-3 - 1e-7) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(s.lr_at(10), 1e-3);
  EXPECT_NEAR(s.lr_at(60), 1e-6 + (1e-3 - 1e-6) / 2, 1e-12);  // half-way through the cosine
  EXPECT_NEAR(s.lr_at(110), 1e-6, 1e-15);
  for (int64_t i = 11; i < 110; ++i) EXPECT_LT(s.lr_at(i), s.lr_at(i - 1));
}

namespace {

Dataset crossing10() {
  Dataset d = read_otb(lorat_test::repo_data("sequences/Crossing10"));
  return d;
}

}  // namespace

TEST(Pairs, SameSeedAndIndexSamePairs) {
  Dataset d = crossing10();
  PairSource src({&d}, {1.0}, find_variant("T-112"));
  Batch a = src.batch(7, 3, 2), b = src.batch(7, 3, 2), c = src.batch(7, 4, 2);
  EXPECT_TRUE(at::equal(a.x, b.x));
  EXPECT_TRUE(at::equal(a.target, b.target));
  EXPECT_FALSE(at::equal(a.x, c.x));
  EXPECT_EQ(a.z.sizes(), (std::vector<int64_t>{2, 3, 56, 56}));
  EXPECT_GT(a.z_mask.sum().item<int64_t>(), 0);
  // The target sits inside the search crop and is at least 10 px wide there.
  auto t = a.target;
  EXPECT_TRUE(((t.select(1, 2) - t.select(1, 0)) * 112 >= 10 - 1e-3).all().item<bool>());
  EXPECT_TRUE((((t.select(1, 0) + t.select(1, 2)) / 2) > 0).all().item<bool>());
  EXPECT_TRUE((((t.select(1, 0) + t.select(1, 2)) / 2) < 1).all().item<bool>());
}

namespace {

// Search crops of a batch whose three channels are equal once un-normalised: grayscale pairs.
int grayscale_crops(const Batch& b) {
  auto mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1}), std = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
  auto rgb = b.x * std + mean;
  auto spread = (rgb.amax(1) - rgb.amin(1)).flatten(1).amax(1);  // per crop, largest channel difference
  return int((spread < 1e-4).sum().item<int64_t>());
}

}  // namespace

TEST(Pairs, EffectProbGivesOnlyThatShareOfPairsAnEffect) {
  Dataset d = crossing10();
  PairOptions spec, none;
  spec.colour_jitter = none.colour_jitter = 0;  // saturation jitter alone never makes a crop gray
  none.effect_prob = 0;
  PairSource with_effects({&d}, {1.0}, find_variant("T-112"), spec), without({&d}, {1.0}, find_variant("T-112"), none);
  Batch a = with_effects.batch(3, 0, 30), b = without.batch(3, 0, 30);
  EXPECT_GE(grayscale_crops(a), 3);  // a third of the spec's pairs are grayscale
  EXPECT_EQ(grayscale_crops(b), 0);
}

TEST(Pairs, AspectJitterStretchesTheImageAndTheBoxTogether) {
  // One still image: a white 30x60 rectangle on black, so the crop shows exactly where the target is.
  const std::string dir = lorat_test::temp_dir(), path = dir + "/rect.png";
  cv::Mat img(200, 200, CV_8UC3, cv::Scalar(0, 0, 0));
  cv::rectangle(img, cv::Rect(85, 70, 30, 60), cv::Scalar(255, 255, 255), cv::FILLED);
  cv::imwrite(path, img);
  Dataset d;
  d.sequences.push_back({"rect", {path}, {Box{85, 70, 30, 60}}, {1}, true});
  PairOptions plain;
  plain.scale_jitter = plain.centre_jitter = plain.colour_jitter = plain.effect_prob = plain.flip = 0;
  PairOptions stretched = plain;
  stretched.aspect_jitter = 0.4;
  const ModelConfig config = find_variant("T-112");
  const int S = config.search_size;
  auto aspects = [&](const PairOptions& o) {
    Batch b = PairSource({&d}, {1.0}, config, o).batch(11, 0, 20);
    auto mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1}), std = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
    auto bright = ((b.x * std + mean).amin(1) > 0.5f);  // (B, S, S)
    std::vector<double> out;
    for (int i = 0; i < 20; ++i) {
      auto cols = bright[i].any(0).nonzero(), rows = bright[i].any(1).nonzero();
      const float* t = b.target[i].data_ptr<float>();
      // The rectangle drawn in the crop is where the target says, to a pixel of resampling.
      EXPECT_NEAR(cols.min().item<int64_t>(), t[0] * S, 1.5) << i;
      EXPECT_NEAR(cols.max().item<int64_t>() + 1, t[2] * S, 1.5) << i;
      EXPECT_NEAR(rows.min().item<int64_t>(), t[1] * S, 1.5) << i;
      EXPECT_NEAR(rows.max().item<int64_t>() + 1, t[3] * S, 1.5) << i;
      out.push_back(std::log((t[2] - t[0]) / (t[3] - t[1])));
    }
    return out;
  };
  auto spread = [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end()); };
  auto same = aspects(plain), varied = aspects(stretched);
  EXPECT_NEAR(same[0], std::log(0.5), 1e-3);
  EXPECT_LT(spread(same), 1e-3);
  EXPECT_GT(spread(varied), 0.5);  // sigma 0.4 over 20 pairs spans well over 0.5 in log aspect
}

namespace {

std::vector<double> losses(const std::string& dir) {
  std::ifstream in(dir + "/log.jsonl");
  std::vector<double> out;
  std::string line;
  while (std::getline(in, line)) {
    auto pos = line.find("\"loss\":");
    out.push_back(std::stod(line.substr(pos + 7)));
  }
  return out;
}

TrainOptions options(const std::string& dir) {
  TrainOptions o;
  o.out_dir = dir;
  o.steps = 4;
  o.batch = 2;
  o.checkpoint_every = 2;
  o.workers = 2;
  o.lr = 1e-3;
  o.seed = 5;
  return o;
}

LoratModel fresh_model() {
  torch::manual_seed(9);
  LoratModel m(find_variant("T-112"));
  m->add_lora(8, 1.0);  // the same adapter init in every run
  return m;
}

}  // namespace

TEST(Trainer, ResumeContinuesExactlyAsIfItHadNotStopped) {
  Dataset d = crossing10();
  PairSource src({&d}, {1.0}, find_variant("T-112"));
  std::string straight = lorat_test::temp_dir() + "/straight", broken = lorat_test::temp_dir() + "/broken";

  LoratModel a = Trainer(fresh_model(), src, options(straight)).run();
  std::vector<double> la = losses(straight);
  ASSERT_EQ(la.size(), 4u);
  for (double l : la) EXPECT_TRUE(std::isfinite(l));

  // Stopped during step 3: the checkpoint of step 2 is on disk, step 3's work is lost.
  struct Stop {};
  try {
    Trainer(fresh_model(), src, options(broken)).run([](const StepLog& s) {
      if (s.step == 3) throw Stop{};
    });
    FAIL() << "the run did not stop";
  } catch (const Stop&) {
  }
  TrainOptions again = options(broken);
  again.resume = true;
  Trainer resumed(fresh_model(), src, again);
  EXPECT_EQ(resumed.start_step(), 2);
  LoratModel b = resumed.run();
  std::vector<double> lb = losses(broken);
  ASSERT_EQ(lb.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(lb[i], la[i]) << "step " << i + 1;
  auto ta = a->lora_trainable_tensors(), tb = b->lora_trainable_tensors();
  for (const auto& [name, t] : ta) EXPECT_TRUE(at::equal(t, tb.at(name))) << name;
  // Only what trains is in a LoRA run's checkpoint (LoRA, type embedding, head), as an adapter a
  // user can apply to the base as it is.
  std::string checkpoint = broken + "/checkpoints/step-4/trainable.safetensors";
  auto saved = read_safetensors_tensors(checkpoint);
  EXPECT_EQ(saved.size(), ta.size());
  EXPECT_FALSE(saved.count("blocks.0.attn.qkv.weight"));
  LoratModel base = fresh_model();
  base->merge(/*keep_adapter=*/false);
  apply_adapter(*base, checkpoint);
  for (const auto& [name, t] : ta) EXPECT_TRUE(at::equal(t, base->named_tensors().at(name))) << name;
}

TEST(Trainer, OnlyTheAdapterTypeEmbeddingAndHeadChange) {
  Dataset d = crossing10();
  PairSource src({&d}, {1.0}, find_variant("T-112"));
  LoratModel m = fresh_model();
  auto before = m->named_tensors();
  std::map<std::string, torch::Tensor> copy;
  for (auto& [n, t] : before) copy[n] = t.detach().clone();
  TrainOptions o = options(lorat_test::temp_dir() + "/frozen");
  o.steps = 2;
  LoratModel after = Trainer(m, src, o).run();
  for (auto& [n, t] : after->named_tensors()) {
    bool trains = n.find(".lora.") != std::string::npos || n == "token_type_embed" || n.rfind("head.", 0) == 0;
    EXPECT_EQ(!at::equal(t, copy.at(n)), trains) << n;
  }
}

// From scratch: every weight trains, the position embedding too; LayerScale opens as asked and a
// fresh score bias starts at -4, while a warm-started bias is kept.
TEST(Trainer, FromScratchTrainsEverythingAndOpensLayerScale) {
  Dataset d = crossing10();
  PairSource src({&d}, {1.0}, find_variant("T-112"));
  LoratModel m = fresh_model();
  std::map<std::string, torch::Tensor> copy;
  for (auto& [n, t] : m->named_tensors()) copy[n] = t.detach().clone();
  TrainOptions o = options(lorat_test::temp_dir() + "/scratch");
  o.steps = 1;
  o.from_scratch = true;
  o.layer_scale_init = 1.0;
  Trainer trainer(m, src, o);
  EXPECT_TRUE(at::allclose(m->named_tensors().at("blocks.0.ls1.gamma"), torch::ones({m->config.dim})));
  EXPECT_FLOAT_EQ(m->named_tensors().at("head.cls_mlp.layers.2.bias").item<float>(), -4.0f);
  LoratModel after = trainer.run();
  for (auto& [n, t] : after->named_tensors()) EXPECT_FALSE(at::equal(t, copy.at(n))) << n << " did not train";
  // A full run's checkpoint is a model bundle that loads as it is.
  LoratModel checkpoint = load_bundle(o.out_dir + "/checkpoints/step-1/trainable.safetensors");
  for (auto& [n, t] : after->named_tensors()) EXPECT_TRUE(at::equal(t, checkpoint->named_tensors().at(n))) << n;

  {
    torch::NoGradGuard g;
    after->named_tensors().at("head.cls_mlp.layers.2.bias").fill_(0.5);
  }
  TrainOptions again = options(lorat_test::temp_dir() + "/scratch-warm");
  again.steps = 1;
  again.from_scratch = true;
  Trainer warm(after, src, again);
  EXPECT_FLOAT_EQ(after->named_tensors().at("head.cls_mlp.layers.2.bias").item<float>(), 0.5f);
}
