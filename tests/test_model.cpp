// The network: shapes of every stage, the decoupled position embedding, LoRA merge and unmerge.
#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

#include "lorat/config.h"
#include "lorat/deepen.h"
#include "lorat/error.h"
#include "lorat/model.h"
#include "lorat/precision.h"

using namespace lorat;

namespace {

ModelConfig tiny() { return find_variant("T-112"); }

struct Inputs {
  torch::Tensor z, x, mask;
};

Inputs inputs(const ModelConfig& c, int64_t batch) {
  torch::manual_seed(11);
  Inputs in;
  in.z = torch::randn({batch, 3, c.template_size, c.template_size});
  in.x = torch::randn({batch, 3, c.search_size, c.search_size});
  in.mask = torch::randint(0, 2, {batch, c.template_grid(), c.template_grid()}, at::kLong);
  return in;
}

// LoRA with non-zero B (the authors' init), so merged and unmerged really differ from the base.
// LayerScale at 1 and adapters 5x the init (trained values are of that order; the init values
// would hide the blocks and the adapters behind float rounding).
LoratModel model_with_lora(const ModelConfig& c) {
  torch::manual_seed(5);
  LoratModel m(c);
  m->add_lora(c.lora_rank, c.lora_scale());
  torch::NoGradGuard g;
  for (auto& [name, t] : m->named_tensors()) {
    if (name.size() > 6 && name.substr(name.size() - 6) == ".gamma") t.fill_(1.0);
    if (name.find(".lora.") != std::string::npos) t.mul_(5.0);
  }
  m->eval();
  return m;
}

}  // namespace

TEST(Model, ShapesOfEveryStage) {
  ModelConfig c = tiny();
  LoratModel m(c);
  auto in = inputs(c, 3);
  torch::NoGradGuard g;
  const int64_t t = c.template_grid(), s = c.search_grid(), D = c.dim;
  EXPECT_EQ(m->patch_embed->forward(in.z).sizes(), (std::vector<int64_t>{3, t * t, D}));
  EXPECT_EQ(m->patch_embed->forward(in.x).sizes(), (std::vector<int64_t>{3, s * s, D}));
  EXPECT_EQ(m->search_pos_embed().sizes(), (std::vector<int64_t>{1, s * s, D}));
  auto zt = m->embed_template(in.z, in.mask);
  EXPECT_EQ(zt.sizes(), (std::vector<int64_t>{3, t * t, D}));
  auto out = m->forward(in.z, in.x, in.mask);
  EXPECT_EQ(out.score_logits.sizes(), (std::vector<int64_t>{3, s, s}));
  EXPECT_EQ(out.box_logits.sizes(), (std::vector<int64_t>{3, s, s, 4}));
  EXPECT_EQ(out.boxes.sizes(), (std::vector<int64_t>{3, s, s, 4}));
}

TEST(Model, ParameterNamesAreMetasAndTheAuthors) {
  ModelConfig c = tiny();
  auto names = model_with_lora(c)->named_tensors();
  for (const char* key : {"pos_embed", "patch_embed.proj.weight", "blocks.0.attn.qkv.weight", "blocks.1.attn.qkv.bias",
                          "blocks.0.attn.qkv.q.lora.A", "blocks.0.attn.qkv.v.lora.B", "blocks.1.attn.proj.lora.A",
                          "blocks.1.mlp.fc1.lora.B", "blocks.0.mlp.fc2.lora.A", "blocks.0.ls1.gamma", "blocks.1.ls2.gamma",
                          "blocks.0.norm1.weight", "norm.bias", "token_type_embed", "head.cls_mlp.layers.2.weight",
                          "head.reg_mlp.layers.0.bias"})
    EXPECT_TRUE(names.count(key)) << key;
  EXPECT_EQ(names.at("blocks.0.attn.qkv.k.lora.A").sizes(), (std::vector<int64_t>{c.lora_rank, c.dim}));
  EXPECT_EQ(names.at("blocks.0.attn.qkv.k.lora.B").sizes(), (std::vector<int64_t>{c.dim, c.lora_rank}));
  EXPECT_EQ(names.at("head.reg_mlp.layers.2.weight").sizes(), (std::vector<int64_t>{4, c.dim}));
}

TEST(Model, SwiGluVariantHasW12AndW3) {
  ModelConfig c = tiny();
  c.mlp = "swiglu";
  c.mlp_hidden = 96;
  LoratModel m = model_with_lora(c);
  auto names = m->named_tensors();
  EXPECT_EQ(names.at("blocks.0.mlp.w12.weight").sizes(), (std::vector<int64_t>{192, c.dim}));
  EXPECT_EQ(names.at("blocks.0.mlp.w3.weight").sizes(), (std::vector<int64_t>{c.dim, 96}));
  EXPECT_TRUE(names.count("blocks.1.mlp.w12.lora.A"));
  EXPECT_FALSE(names.count("blocks.0.mlp.fc1.weight"));
  auto in = inputs(c, 1);
  torch::NoGradGuard g;
  EXPECT_EQ(m->forward(in.z, in.x, in.mask).score_logits.sizes(), (std::vector<int64_t>{1, 8, 8}));
}

TEST(Model, PosEmbedResizeIsBicubicAndTheTemplateTakesTheTopLeftSlice) {
  ModelConfig c = tiny();
  LoratModel m(c);
  torch::NoGradGuard g;
  // A field linear in x and y survives a bicubic resize (half-pixel centres) exactly, away from
  // the borders, where the clamped taps bend it.
  const int64_t G = c.pos_embed_grid, s = c.search_grid();
  auto ramp = (at::arange(G, at::kFloat).view({G, 1}) * 2 + at::arange(G, at::kFloat).view({1, G})).reshape({G * G, 1});
  m->pos_embed.slice(1, 1).copy_(ramp.expand({G * G, c.dim}).unsqueeze(0));
  auto resized = m->search_pos_embed().reshape({s, s, c.dim});
  double step = double(G) / s;
  for (int64_t i = 2; i < s - 2; ++i)
    for (int64_t j = 2; j < s - 2; ++j) {
      double src_i = (i + 0.5) * step - 0.5, src_j = (j + 0.5) * step - 0.5;
      EXPECT_NEAR(resized[i][j][0].item<double>(), 2 * src_i + src_j, 1e-4);
    }
  // Template tokens with zero patches and type rows carry exactly the top-left slice.
  m->patch_embed->proj->weight.zero_();
  m->patch_embed->proj->bias.zero_();
  m->token_type_embed.zero_();
  const int64_t t = c.template_grid();
  auto z = m->embed_template(torch::zeros({1, 3, c.template_size, c.template_size}), torch::zeros({1, t, t}, at::kLong));
  EXPECT_TRUE(at::equal(z.reshape({t, t, c.dim}), resized.slice(0, 0, t).slice(1, 0, t)));
}

TEST(Model, TokenTypeFollowsTheMask) {
  ModelConfig c = tiny();
  LoratModel m(c);
  torch::NoGradGuard g;
  const int64_t t = c.template_grid();
  auto z = torch::randn({1, 3, c.template_size, c.template_size});
  auto mask = torch::zeros({1, t, t}, at::kLong);
  mask[0][1][2] = 1;
  auto diff = m->embed_template(z, mask) - m->embed_template(z, torch::zeros_like(mask));
  auto expected = m->token_type_embed[1] - m->token_type_embed[0];
  EXPECT_TRUE(at::allclose(diff[0][1 * t + 2], expected, 1e-6, 1e-6));
  EXPECT_LT(diff[0][0].abs().max().item<float>(), 1e-7);
}

TEST(Model, MergedAndUnmergedAgree) {
  for (bool rslora : {false, true}) {
    ModelConfig c = tiny();
    c.rslora = rslora;
    LoratModel m = model_with_lora(c);
    auto in = inputs(c, 2);
    torch::NoGradGuard g;
    auto unmerged = m->forward(in.z, in.x, in.mask);
    auto w_before = m->named_tensors().at("blocks.0.attn.qkv.weight").clone();
    m->merge();
    EXPECT_TRUE(m->merged());
    auto merged = m->forward(in.z, in.x, in.mask);
    EXPECT_LT((merged.score_logits - unmerged.score_logits).abs().max().item<double>(), 1e-4);
    EXPECT_LT((merged.box_logits - unmerged.box_logits).abs().max().item<double>(), 1e-4);
    EXPECT_FALSE(at::allclose(m->named_tensors().at("blocks.0.attn.qkv.weight"), w_before));
    m->unmerge();
    EXPECT_TRUE(at::allclose(m->named_tensors().at("blocks.0.attn.qkv.weight"), w_before, 0, 1e-6));
    auto again = m->forward(in.z, in.x, in.mask);
    EXPECT_LT((again.score_logits - unmerged.score_logits).abs().max().item<double>(), 1e-5);
  }
}

TEST(Model, AMergedModelWithoutItsAdapterIsAPlainViT) {
  ModelConfig c = tiny();
  LoratModel m = model_with_lora(c);
  auto in = inputs(c, 1);
  torch::NoGradGuard g;
  auto before = m->forward(in.z, in.x, in.mask).score_logits;
  m->merge(/*keep_adapter=*/false);
  EXPECT_FALSE(m->has_lora());
  for (const auto& [name, t] : m->named_tensors()) EXPECT_EQ(name.find(".lora."), std::string::npos) << name;
  EXPECT_LT((m->forward(in.z, in.x, in.mask).score_logits - before).abs().max().item<double>(), 1e-4);
}

TEST(Model, LoraChangesTheOutput) {
  ModelConfig c = tiny();
  LoratModel m = model_with_lora(c);
  auto in = inputs(c, 1);
  torch::NoGradGuard g;
  auto with = m->forward(in.z, in.x, in.mask).score_logits;
  m->remove_lora();
  // Relative to the spread of the map: the untrained head makes every logit small.
  double spread = (with.max() - with.min()).item<double>();
  double change = (m->forward(in.z, in.x, in.mask).score_logits - with).abs().max().item<double>();
  EXPECT_GT(change, 0.05 * spread) << "change " << change << ", spread " << spread;
}

TEST(Model, BoxDecodingFromCellCentres) {
  // Zero logits give l = t = r = b = 0.5 around each cell centre.
  auto boxes = decode_boxes(torch::zeros({1, 2, 4, 4}));
  EXPECT_NEAR(boxes[0][1][3][0].item<float>(), (3 + 0.5) / 4 - 0.5, 1e-7);  // x1 of row 1, column 3
  EXPECT_NEAR(boxes[0][1][3][1].item<float>(), (1 + 0.5) / 2 - 0.5, 1e-7);  // y1
  EXPECT_NEAR(boxes[0][1][3][2].item<float>(), (3 + 0.5) / 4 + 0.5, 1e-7);
  EXPECT_NEAR(boxes[0][1][3][3].item<float>(), (1 + 0.5) / 2 + 0.5, 1e-7);
}

namespace {
// "auto" never picks bf16 on a CPU without bf16 instructions (emulated, ~50x slower than fp32).
// bf16 inference: the blocks run in bf16, the final norm and the head in fp32, so the scores and
// boxes come out fp32 and close to the fp32 model's (bf16 alone would round a box edge in a 224
// crop to ~1 px).
TEST(Precision, Bf16InferenceKeepsNormAndHeadInFp32) {
  ModelConfig c = tiny();
  LoratModel fp32(c), bf16(c);
  fp32->eval();
  bf16->eval();
  {
    torch::NoGradGuard g;
    auto from = fp32->named_tensors(), to = bf16->named_tensors();
    for (auto& [name, t] : to) t.copy_(from.at(name));
  }
  bf16->to_inference(torch::kCPU, at::kBFloat16);
  EXPECT_EQ(bf16->blocks[0]->as<lorat::Block>()->attn->qkv->weight.scalar_type(), at::kBFloat16);
  EXPECT_EQ(bf16->norm->weight.scalar_type(), at::kFloat);
  for (const auto& p : bf16->head->parameters()) EXPECT_EQ(p.scalar_type(), at::kFloat);
  auto in = inputs(c, 2);
  torch::NoGradGuard g;
  auto want = fp32->forward(in.z, in.x, in.mask);
  auto got = bf16->forward(in.z.to(at::kBFloat16), in.x.to(at::kBFloat16), in.mask);
  EXPECT_EQ(got.boxes.scalar_type(), at::kFloat);
  EXPECT_EQ(got.score_logits.scalar_type(), at::kFloat);
  EXPECT_LT((got.boxes - want.boxes).abs().max().item<float>(), 0.02);
  EXPECT_LT((got.score_logits - want.score_logits).abs().max().item<float>(), 0.1);
}

// Training under bf16 autocast: the blocks run in bf16, the final norm and the head in fp32.
TEST(Precision, Bf16AutocastKeepsTheHeadInFp32) {
  ModelConfig c = tiny();
  LoratModel m(c);
  m->eval();
  auto in = inputs(c, 2);
  torch::NoGradGuard g;
  auto want = m->forward(in.z, in.x, in.mask);
  HeadOutput got;
  torch::Tensor bf16_linear;
  {
    lorat::ScopedCpuAutocast autocast(/*bf16=*/true);
    got = m->forward(in.z, in.x, in.mask);
    bf16_linear = m->blocks[0]->as<lorat::Block>()->attn->qkv->forward(in.x.new_zeros({1, 1, c.dim}));
  }
  EXPECT_EQ(bf16_linear.scalar_type(), at::kBFloat16);  // autocast was on for the blocks
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_EQ(got.boxes.scalar_type(), at::kFloat);
  EXPECT_EQ(got.score_logits.scalar_type(), at::kFloat);
  EXPECT_LT((got.boxes - want.boxes).abs().max().item<float>(), 0.02);
}

// A training step changes the weights in place between two autocast scopes: the next forward must
// see the new weights, not autocast's cached bf16 copy of the old ones.
TEST(Precision, Bf16AutocastSeesWeightsChangedBetweenScopes) {
  ModelConfig c = tiny();
  LoratModel m(c);
  auto in = inputs(c, 2);
  auto block = m->blocks[0]->as<lorat::Block>();
  // The model adds its fp32 position embedding to the patch embedding, as here.
  auto tokens = [&] { return block->forward(m->patch_embed->forward(in.x).to(at::kFloat)); };
  auto bf16_tokens = [&] {
    lorat::ScopedCpuAutocast autocast(/*bf16=*/true);
    return tokens().to(at::kFloat);
  };
  auto before = bf16_tokens();
  {
    torch::NoGradGuard g;  // what an optimizer step does, in place
    for (auto& item : m->named_parameters()) {
      if (item.key().find("gamma") != std::string::npos) item.value().fill_(1);  // open the block
      else item.value().add_(torch::randn_like(item.value()) * 0.05);
    }
  }
  auto after = bf16_tokens();
  auto want = tokens();  // fp32, outside autocast
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  const float moved = (want - before).abs().max().item<float>();
  ASSERT_GT(moved, 0.1);
  EXPECT_LT((after - want).abs().max().item<float>(), 0.1 * moved) << "moved " << moved;
}

TEST(Precision, AutoFollowsTheHardware) {
  EXPECT_EQ(lorat::auto_precision(/*cuda=*/true), "fp16");
  lorat::CpuFeatures f = lorat::cpu_features();
  std::string cpu = lorat::auto_precision(false);
  if (!f.avx512_bf16 && !f.amx_bf16) EXPECT_EQ(cpu, "fp32");
  else EXPECT_TRUE(cpu == "bf16" || cpu == "fp32") << cpu;
  EXPECT_EQ(lorat::auto_precision(false), cpu);  // measured once, then the same answer
}

// Growing a trained model: at LayerScale 0 the added blocks change no box; opened, they do.
TEST(Deepen, AddedBlocksAtLayerScaleZeroGiveTheSameBoxes) {
  ModelConfig c = tiny();
  LoratModel source = model_with_lora(c);
  source->merge(/*keep_adapter=*/false);
  auto in = inputs(c, 2);
  torch::NoGradGuard g;
  auto want = source->forward(in.z, in.x, in.mask);
  LoratModel same = deepen(*source, c.depth + 2, 0);
  same->eval();
  EXPECT_EQ(same->config.depth, c.depth + 2);
  EXPECT_EQ(same->blocks->size(), size_t(c.depth + 2));
  auto got = same->forward(in.z, in.x, in.mask);
  EXPECT_TRUE(torch::equal(got.boxes, want.boxes));
  EXPECT_TRUE(torch::equal(got.score_logits, want.score_logits));
  // The added blocks are the last block's weights, so opening them changes the boxes.
  LoratModel opened = deepen(*source, c.depth + 2, 1);
  opened->eval();
  auto moved = (opened->forward(in.z, in.x, in.mask).box_logits - want.box_logits).abs().max().item<float>();
  EXPECT_GT(moved, 0.1 * want.box_logits.abs().max().item<float>());
}

TEST(Deepen, RefusesFewerBlocksAndUnmergedAdapters) {
  ModelConfig c = tiny();
  LoratModel source(c);
  try {
    deepen(*source, c.depth - 1, 0);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blocks can be added, not removed"), std::string::npos) << e.what();
  }
  source->add_lora(c.lora_rank, c.lora_scale());
  EXPECT_THROW(deepen(*source, c.depth + 1, 0), Error);
}
}  // namespace
