#include "lora.h"

#include <ATen/ATen.h>

namespace lorat {

void trunc_normal_(torch::Tensor t, double std) {
  torch::NoGradGuard no_grad;
  t.normal_(0, std).clamp_(-2, 2);
}

LoraPairImpl::LoraPairImpl(int64_t in, int64_t out, int64_t rank) {
  A = register_parameter("A", torch::empty({rank, in}));
  B = register_parameter("B", torch::empty({out, rank}));
  trunc_normal_(A, 0.02);
  trunc_normal_(B, 0.02);
}

LoraLinearImpl::LoraLinearImpl(int64_t in, int64_t out, std::vector<std::string> slices)
    : in_features(in), out_features(out), slices_(std::move(slices)) {
  weight = register_parameter("weight", torch::empty({out, in}));
  bias = register_parameter("bias", torch::zeros({out}));
  trunc_normal_(weight, 0.02);
}

int64_t LoraLinearImpl::lora_rank() const { return adapters_.empty() ? 0 : adapters_[0]->A.size(0); }

void LoraLinearImpl::add_lora(int64_t rank, double scale) {
  remove_lora();
  scale_ = scale;
  merged_ = false;
  if (slices_.empty()) {
    adapters_.push_back(register_module("lora", LoraPair(in_features, out_features, rank)));
    return;
  }
  int64_t rows = out_features / int64_t(slices_.size());
  for (const auto& name : slices_) {
    auto holder = register_module(name, std::make_shared<torch::nn::Module>());
    adapters_.push_back(holder->register_module("lora", LoraPair(in_features, rows, rank)));
    holders_.push_back(holder.get());
  }
}

void LoraLinearImpl::remove_lora() {
  if (adapters_.empty()) return;
  std::vector<std::string> names = slices_.empty() ? std::vector<std::string>{"lora"} : slices_;
  for (const auto& n : names) unregister_module(n);
  adapters_.clear();
  holders_.clear();
  merged_ = false;
}

torch::Tensor LoraLinearImpl::delta_weight() const {
  std::vector<torch::Tensor> parts;
  for (const auto& a : adapters_) parts.push_back(at::matmul(a->B.to(at::kFloat), a->A.to(at::kFloat)));
  return at::cat(parts, 0) * scale_;
}

void LoraLinearImpl::merge(bool keep_adapter) {
  if (adapters_.empty()) return;
  torch::NoGradGuard no_grad;
  if (!merged_) {
    auto w = weight.to(at::kFloat) + delta_weight();
    weight.copy_(w);
  }
  merged_ = true;
  if (!keep_adapter) remove_lora();
}

void LoraLinearImpl::unmerge() {
  if (adapters_.empty() || !merged_) return;
  torch::NoGradGuard no_grad;
  weight.copy_(weight.to(at::kFloat) - delta_weight());
  merged_ = false;
}

torch::Tensor LoraLinearImpl::forward(const torch::Tensor& x) {
  auto y = at::linear(x, weight, bias);
  if (merged_ || adapters_.empty()) return y;
  std::vector<torch::Tensor> deltas;
  for (const auto& a : adapters_) deltas.push_back(at::linear(at::linear(x, a->A), a->B));
  auto delta = deltas.size() == 1 ? deltas[0] : at::cat(deltas, -1);
  return y + delta * scale_;
}

}  // namespace lorat
