#include "model.h"

#include <ATen/ATen.h>

#include "error.h"
#include "precision.h"

namespace lorat {

bool trains_with_lora(const std::string& name) {
  return name.find(".lora.") != std::string::npos || name == "token_type_embed" || name.rfind("head.", 0) == 0;
}

LoratModelImpl::LoratModelImpl(const ModelConfig& c) : config(c) {
  c.validate("model config " + c.name);
  patch_embed = register_module("patch_embed", PatchEmbed(c.dim, c.patch));
  pos_embed = register_parameter("pos_embed", torch::empty({1, 1 + int64_t(c.pos_embed_grid) * c.pos_embed_grid, c.dim}));
  trunc_normal_(pos_embed, 0.02);
  pos_embed.set_requires_grad(false);
  token_type_embed = register_parameter("token_type_embed", torch::empty({3, c.dim}));
  trunc_normal_(token_type_embed, 0.02);
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int i = 0; i < c.depth; ++i) blocks->push_back(Block(c));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim}).eps(1e-6)));
  head = register_module("head", Head(c.dim));
}

torch::Tensor LoratModelImpl::search_pos_embed() {
  const int64_t g = config.pos_embed_grid, s = config.search_grid(), D = config.dim;
  auto resize = [&] {
    auto grid = pos_embed.slice(1, 1).reshape({1, g, g, D}).permute({0, 3, 1, 2}).to(at::kFloat);
    auto resized = at::upsample_bicubic2d(grid, {s, s}, /*align_corners=*/false);
    return resized.permute({0, 2, 3, 1}).reshape({1, s * s, D}).to(pos_embed.scalar_type()).contiguous();
  };
  // Training the position embedding (from scratch): resized every time, with its gradient.
  if (pos_embed.requires_grad() && at::GradMode::is_enabled()) return resize();
  std::lock_guard<std::mutex> lock(resized_lock_);
  if (resized_pos_.defined() && resized_from_ == pos_embed.data_ptr() && resized_version_ == int64_t(pos_embed._version()) &&
      resized_pos_.device() == pos_embed.device() && resized_pos_.scalar_type() == pos_embed.scalar_type())
    return resized_pos_;
  torch::NoGradGuard no_grad;
  resized_pos_ = resize();
  resized_from_ = pos_embed.data_ptr();
  resized_version_ = int64_t(pos_embed._version());
  return resized_pos_;
}

torch::Tensor LoratModelImpl::embed_template(const torch::Tensor& z, const torch::Tensor& z_mask) {
  const int64_t s = config.search_grid(), t = config.template_grid(), D = config.dim;
  auto pos = search_pos_embed().reshape({1, s, s, D}).slice(1, 0, t).slice(2, 0, t).reshape({1, t * t, D});
  auto types = token_type_embed.index_select(0, z_mask.reshape({-1}).to(token_type_embed.device(), at::kLong))
                   .reshape({z.size(0), t * t, D});
  return patch_embed->forward(z) + pos + types;
}

HeadOutput LoratModelImpl::forward_embedded(const torch::Tensor& z_tokens, const torch::Tensor& x) {
  const int64_t s = config.search_grid();
  auto x_tokens = patch_embed->forward(x) + search_pos_embed() + token_type_embed[2];
  auto tokens = at::cat({z_tokens, x_tokens}, 1);
  for (size_t i = 0; i < blocks->size(); ++i) tokens = blocks[i]->as<Block>()->forward(tokens);
  // The final norm and the head run in their own dtype, fp32, under bf16 autocast too (training),
  // as they do at inference: in bf16 the box edges and scores keep only 8 bits.
  ScopedCpuAutocast fp32_head(/*bf16=*/false);
  tokens = norm->forward(tokens.to(norm->weight.scalar_type()));
  return head->forward(tokens.slice(1, z_tokens.size(1)), s, s);
}

HeadOutput LoratModelImpl::forward(const torch::Tensor& z, const torch::Tensor& x, const torch::Tensor& z_mask) {
  return forward_embedded(embed_template(z, z_mask), x);
}

void LoratModelImpl::to_inference(torch::Device device, at::ScalarType dtype) {
  to(device, dtype);
  if (dtype != at::kFloat) {
    norm->to(at::kFloat);
    head->to(at::kFloat);
  }
}

static void for_each_target(torch::nn::ModuleList& blocks, const std::function<void(LoraLinear&)>& fn) {
  for (size_t i = 0; i < blocks->size(); ++i)
    for (auto& l : blocks[i]->as<Block>()->lora_targets()) fn(l);
}

void LoratModelImpl::add_lora(int64_t rank, double scale) {
  for_each_target(blocks, [&](LoraLinear& l) { l->add_lora(rank, scale); });
}

bool LoratModelImpl::has_lora() const {
  return blocks->size() > 0 && blocks->ptr<BlockImpl>(0)->attn->qkv->has_lora();
}

bool LoratModelImpl::merged() const { return has_lora() && blocks->ptr<BlockImpl>(0)->attn->qkv->merged(); }

void LoratModelImpl::merge(bool keep) {
  for_each_target(blocks, [&](LoraLinear& l) { l->merge(keep); });
}
void LoratModelImpl::unmerge() {
  for_each_target(blocks, [&](LoraLinear& l) { l->unmerge(); });
}
void LoratModelImpl::remove_lora() {
  for_each_target(blocks, [&](LoraLinear& l) { l->remove_lora(); });
}

std::map<std::string, torch::Tensor> LoratModelImpl::named_tensors() const {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : named_parameters(/*recurse=*/true)) out[p.key()] = p.value();
  return out;
}

std::map<std::string, torch::Tensor> LoratModelImpl::lora_trainable_tensors() const {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, t] : named_tensors())
    if (trains_with_lora(name))
      out[name] = t;
  return out;
}

}  // namespace lorat
