// Checkpoint formats: DINOv2 .pth written by torch.save, the authors' adapter layout, our bundle,
// and every way a file can be wrong.
#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "lorat/checkpoint.h"
#include "lorat/config.h"
#include "lorat/error.h"
#include "test_util.h"

using namespace lorat;
using ::testing::AllOf;
using ::testing::HasSubstr;

namespace {

std::string tmp(const std::string& name) { return lorat_test::temp_dir() + "/" + name; }

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

ModelConfig tiny() { return find_variant("T-112"); }

LoratModel tiny_model_with_lora() {
  torch::manual_seed(3);
  LoratModel m(tiny());
  m->add_lora(8, 1.0);
  return m;
}

}  // namespace

TEST(PthIntoModel, TorchSaveFixtureLoadsWithTheRightValues) {
  TensorMap t = read_pth(lorat_test::repo_data("tiny_dinov2.pth"));
  std::ifstream keys(lorat_test::repo_data("tiny_dinov2_keys.txt"));
  int k = 0;
  for (std::string name; std::getline(keys, name); ++k) {
    ASSERT_TRUE(t.count(name)) << name;
    auto flat = t.at(name).reshape({-1});
    auto i = at::arange(flat.numel(), at::kLong);
    auto expected = ((i * 7 + k * 13).remainder(101) - 50).to(at::kFloat) / 500;
    EXPECT_TRUE(at::allclose(flat, expected, 0, 1e-7)) << name;
  }
  EXPECT_EQ(k, 35);
  EXPECT_EQ(t.size(), 35u);
  EXPECT_EQ(t.at("pos_embed").sizes(), (std::vector<int64_t>{1, 257, 64}));
}

TEST(PthIntoModel, LoadsAsTheBackboneOfAModel) {
  LoratModel m = load_authors_model(tiny(), lorat_test::repo_data("tiny_dinov2.pth"), "", false);
  TensorMap t = read_pth(lorat_test::repo_data("tiny_dinov2.pth"));
  auto own = m->named_tensors();
  EXPECT_TRUE(at::equal(own.at("blocks.1.attn.qkv.weight"), t.at("blocks.1.attn.qkv.weight")));
  EXPECT_TRUE(at::equal(own.at("patch_embed.proj.weight"), t.at("patch_embed.proj.weight")));
}

TEST(PthIntoModel, BadFiles) {
  EXPECT_THAT(error_of([] { read_pth(tmp("nope.pth")); }), AllOf(HasSubstr("nope.pth"), HasSubstr("cannot open")));
  std::ofstream(tmp("text.pth")) << "not a zip";
  EXPECT_THAT(error_of([] { read_pth(tmp("text.pth")); }), AllOf(HasSubstr("text.pth"), HasSubstr("not a zip archive")));
  // Truncated: the zip's central directory is gone.
  std::ifstream in(lorat_test::repo_data("tiny_dinov2.pth"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(tmp("cut.pth"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  EXPECT_THAT(error_of([] { read_pth(tmp("cut.pth")); }), HasSubstr("cut.pth"));
}

TEST(Bundle, RoundTripKeepsEveryTensor) {
  LoratModel m = tiny_model_with_lora();
  save_bundle(tmp("b.safetensors"), *m, DType::F32);
  LoratModel back = load_bundle(tmp("b.safetensors"));
  EXPECT_EQ(back->config.to_json(), m->config.to_json());
  EXPECT_TRUE(back->has_lora());
  auto a = m->named_tensors(), b = back->named_tensors();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) EXPECT_TRUE(at::equal(t, b.at(name))) << name;
}

TEST(Bundle, HalfPrecisionStorage) {
  LoratModel m = tiny_model_with_lora();
  m->merge(false);
  save_bundle(tmp("b16.safetensors"), *m, DType::F16);
  LoratModel back = load_bundle(tmp("b16.safetensors"));
  EXPECT_FALSE(back->has_lora());
  auto w = m->named_tensors().at("blocks.0.mlp.fc1.weight");
  EXPECT_TRUE(at::allclose(back->named_tensors().at("blocks.0.mlp.fc1.weight"), w, 1e-3, 1e-4));
}

TEST(Adapter, SaveThenApplyGivesTheSameOutputs) {
  LoratModel m = tiny_model_with_lora();
  save_adapter(tmp("a.safetensors"), *m);
  // The base without the adapter, then the adapter applied from the file.
  LoratModel base(tiny());
  {
    auto mt = m->named_tensors(), bt = base->named_tensors();
    torch::NoGradGuard g;
    for (auto& [name, t] : bt) t.copy_(mt.at(name));
  }
  apply_adapter(*base, tmp("a.safetensors"));
  auto z = torch::randn({1, 3, 56, 56}), x = torch::randn({1, 3, 112, 112});
  auto mask = torch::zeros({1, 4, 4}, at::kLong);
  torch::NoGradGuard g;
  EXPECT_TRUE(at::allclose(base->forward(z, x, mask).score_logits, m->forward(z, x, mask).score_logits, 1e-5, 1e-5));
}

TEST(BadInput, MissingFileAndNotABundle) {
  EXPECT_THAT(error_of([] { load_bundle(tmp("missing.safetensors")); }), AllOf(HasSubstr("missing.safetensors"), HasSubstr("cannot open")));
  LoratModel m = tiny_model_with_lora();
  save_adapter(tmp("adapter_only.safetensors"), *m);
  EXPECT_THAT(error_of([] { load_bundle(tmp("adapter_only.safetensors")); }), HasSubstr("adapter, not a model bundle"));
  write_tensors(tmp("plain.safetensors"), {{"x", torch::zeros({2})}}, DType::F32);
  EXPECT_THAT(error_of([] { load_bundle(tmp("plain.safetensors")); }), HasSubstr("not a gst-lorat model bundle"));
}

// A bundle with one tensor changed by `edit`.
static std::string edited_bundle(const std::string& name, const std::function<void(TensorMap&)>& edit) {
  LoratModel m(tiny());
  TensorMap t;
  for (const auto& [name, value] : m->named_tensors()) t[name] = value.detach().clone();
  edit(t);
  write_tensors(tmp(name), t, DType::F32, {{"format", "gst-lorat-bundle"}, {"version", "1"}, {"config", m->config.to_json()}});
  return tmp(name);
}

TEST(BadInput, WrongShapeMissingKeyNaNUnknownKey) {
  auto p = edited_bundle("shape.safetensors", [](TensorMap& t) { t["blocks.1.mlp.fc1.weight"] = torch::zeros({255, 64}); });
  EXPECT_THAT(error_of([&] { load_bundle(p); }),
              AllOf(HasSubstr("shape.safetensors"), HasSubstr("'blocks.1.mlp.fc1.weight'"), HasSubstr("(255, 64)"), HasSubstr("(256, 64)")));
  p = edited_bundle("key.safetensors", [](TensorMap& t) { t.erase("norm.bias"); });
  EXPECT_THAT(error_of([&] { load_bundle(p); }), AllOf(HasSubstr("key.safetensors"), HasSubstr("'norm.bias' is missing")));
  p = edited_bundle("nan.safetensors", [](TensorMap& t) { t["head.cls_mlp.layers.2.bias"][0] = NAN; });
  EXPECT_THAT(error_of([&] { load_bundle(p); }), AllOf(HasSubstr("nan.safetensors"), HasSubstr("'head.cls_mlp.layers.2.bias'"), HasSubstr("NaN")));
  p = edited_bundle("extra.safetensors", [](TensorMap& t) { t["blocks.7.attn.qkv.weight"] = torch::zeros({1}); });
  EXPECT_THAT(error_of([&] { load_bundle(p); }), AllOf(HasSubstr("extra.safetensors"), HasSubstr("'blocks.7.attn.qkv.weight' is not part")));
}

TEST(BadInput, AdapterThatDoesNotFitTheBase) {
  LoratModel m = tiny_model_with_lora();
  TensorMap t = m->lora_trainable_tensors();
  t["blocks.0.attn.proj.lora.B"] = torch::zeros({63, 8});
  write_tensors(tmp("bad_adapter.safetensors"), t, DType::F32);
  LoratModel base(tiny());
  EXPECT_THAT(error_of([&] { apply_adapter(*base, tmp("bad_adapter.safetensors")); }),
              AllOf(HasSubstr("bad_adapter.safetensors"), HasSubstr("'blocks.0.attn.proj.lora.B'")));
  EXPECT_FALSE(base->has_lora());  // nothing half-applied
  t = m->lora_trainable_tensors();
  t.erase("blocks.1.mlp.fc2.lora.A");
  write_tensors(tmp("short_adapter.safetensors"), t, DType::F32);
  EXPECT_THAT(error_of([&] { apply_adapter(*base, tmp("short_adapter.safetensors")); }), HasSubstr("'blocks.1.mlp.fc2.lora.A' is missing"));
}

TEST(BadInput, BaseWithWrongDimForTheVariant) {
  EXPECT_THAT(error_of([] { load_authors_model(find_variant("S-224"), lorat_test::repo_data("tiny_dinov2.pth"), "", false); }),
              AllOf(HasSubstr("tiny_dinov2.pth"), HasSubstr("needs")));
}

TEST(Info, DescribesWhatAFileHolds) {
  LoratModel m = tiny_model_with_lora();
  save_bundle(tmp("info.safetensors"), *m, DType::BF16);
  std::string text = describe_checkpoint(tmp("info.safetensors"));
  EXPECT_THAT(text, AllOf(HasSubstr("gst-lorat model bundle"), HasSubstr("BF16"), HasSubstr("LoRA rank: 8"), HasSubstr("blocks: 2")));
  EXPECT_THAT(describe_checkpoint(lorat_test::repo_data("tiny_dinov2.pth")), HasSubstr("DINOv2 backbone"));
}
