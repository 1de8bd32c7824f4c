// The DINOv2 ViT pieces the tracker uses: patch embedding, attention, MLP (GELU or SwiGLU), blocks
// with LayerScale. Parameter names are those of Meta's checkpoints ("blocks.3.attn.qkv.weight").
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>

#include "config.h"
#include "lora.h"

namespace lorat {

class PatchEmbedImpl : public torch::nn::Module {
 public:
  PatchEmbedImpl(int64_t dim, int64_t patch);
  // (B, 3, H, W) -> (B, H/p * W/p, D), row-major tokens.
  torch::Tensor forward(const torch::Tensor& images);
  torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t dim, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t heads;
  LoraLinear qkv{nullptr}, proj{nullptr};
};
TORCH_MODULE(Attention);

// GELU MLP (fc1, fc2) or SwiGLU (w12, w3), as the config says.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t dim, int64_t hidden, bool swiglu);
  torch::Tensor forward(const torch::Tensor& x);
  bool swiglu;
  LoraLinear first{nullptr}, second{nullptr};  // fc1/fc2 or w12/w3
};
TORCH_MODULE(Mlp);

class LayerScaleImpl : public torch::nn::Module {
 public:
  explicit LayerScaleImpl(int64_t dim);
  torch::Tensor forward(const torch::Tensor& x) { return x * gamma; }
  torch::Tensor gamma;
};
TORCH_MODULE(LayerScale);

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const ModelConfig& config);
  torch::Tensor forward(torch::Tensor x);
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  Attention attn{nullptr};
  Mlp mlp{nullptr};
  LayerScale ls1{nullptr}, ls2{nullptr};
  // Every Linear of the block that takes LoRA: qkv (as q, k, v), proj, fc1, fc2 (w12, w3).
  std::vector<LoraLinear> lora_targets() const;
};
TORCH_MODULE(Block);

}  // namespace lorat
