#include "vit.h"

#include <ATen/ATen.h>

namespace lorat {

PatchEmbedImpl::PatchEmbedImpl(int64_t dim, int64_t patch) {
  proj = register_module("proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, dim, patch).stride(patch)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& images) {
  return proj->forward(images).flatten(2).transpose(1, 2);
}

AttentionImpl::AttentionImpl(int64_t dim, int64_t heads_) : heads(heads_) {
  qkv = register_module("qkv", LoraLinear(dim, 3 * dim, std::vector<std::string>{"q", "k", "v"}));
  proj = register_module("proj", LoraLinear(dim, dim));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x) {
  const int64_t B = x.size(0), N = x.size(1), C = x.size(2), hd = C / heads;
  auto qkv_out = qkv->forward(x).reshape({B, N, 3, heads, hd}).permute({2, 0, 3, 1, 4});
  auto q = qkv_out[0] * (1.0 / std::sqrt(double(hd)));
  auto attn = at::softmax(at::matmul(q, qkv_out[1].transpose(-2, -1)), -1);
  auto y = at::matmul(attn, qkv_out[2]).transpose(1, 2).reshape({B, N, C});
  return proj->forward(y);
}

MlpImpl::MlpImpl(int64_t dim, int64_t hidden, bool swiglu_) : swiglu(swiglu_) {
  if (swiglu) {
    first = register_module("w12", LoraLinear(dim, 2 * hidden));
    second = register_module("w3", LoraLinear(hidden, dim));
  } else {
    first = register_module("fc1", LoraLinear(dim, hidden));
    second = register_module("fc2", LoraLinear(hidden, dim));
  }
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  auto h = first->forward(x);
  if (swiglu) {
    auto halves = h.chunk(2, -1);
    h = at::silu(halves[0]) * halves[1];
  } else {
    h = at::gelu(h);
  }
  return second->forward(h);
}

LayerScaleImpl::LayerScaleImpl(int64_t dim) { gamma = register_parameter("gamma", torch::full({dim}, 1e-5)); }

BlockImpl::BlockImpl(const ModelConfig& c) {
  auto ln = torch::nn::LayerNormOptions({c.dim}).eps(1e-6);
  norm1 = register_module("norm1", torch::nn::LayerNorm(ln));
  attn = register_module("attn", Attention(c.dim, c.heads));
  ls1 = register_module("ls1", LayerScale(c.dim));
  norm2 = register_module("norm2", torch::nn::LayerNorm(ln));
  mlp = register_module("mlp", Mlp(c.dim, c.mlp_hidden, c.mlp == "swiglu"));
  ls2 = register_module("ls2", LayerScale(c.dim));
}

torch::Tensor BlockImpl::forward(torch::Tensor x) {
  x = x + ls1->forward(attn->forward(norm1->forward(x)));
  return x + ls2->forward(mlp->forward(norm2->forward(x)));
}

std::vector<LoraLinear> BlockImpl::lora_targets() const { return {attn->qkv, attn->proj, mlp->first, mlp->second}; }

}  // namespace lorat
