// A Linear layer that can carry LoRA adapters (y = W x + b + scale * B (A x)) on consecutive slices
// of its output rows: one adapter for proj/fc1/fc2, three (q, k, v) for the fused qkv. Merging folds
// them into W in fp32; a merged layer's forward is a plain linear.
#pragma once
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace lorat {

// The A (rank x in) and B (out x rank) of one adapter, registered as "lora.A", "lora.B".
class LoraPairImpl : public torch::nn::Module {
 public:
  LoraPairImpl(int64_t in, int64_t out, int64_t rank);
  torch::Tensor A, B;
};
TORCH_MODULE(LoraPair);

class LoraLinearImpl : public torch::nn::Module {
 public:
  // slices: names of the output slices that get their own adapter ({"q", "k", "v"} for qkv; {} for
  // one adapter over all rows, named directly "lora").
  LoraLinearImpl(int64_t in, int64_t out, std::vector<std::string> slices = {});

  torch::Tensor forward(const torch::Tensor& x);

  // Adds adapters (A, B trunc-normal std 0.02, as the authors initialise them). Unmerged.
  void add_lora(int64_t rank, double scale);
  bool has_lora() const { return !adapters_.empty(); }
  bool merged() const { return merged_; }
  int64_t lora_rank() const;
  void set_lora_scale(double scale) { scale_ = scale; }
  // W += scale * B A per slice (fp32). keep_adapter=false removes A and B afterwards, so the
  // layer is a plain Linear (what a deployed bundle holds).
  void merge(bool keep_adapter = true);
  // W -= scale * B A per slice; the inverse of merge(keep_adapter=true).
  void unmerge();
  // Drops the adapters without touching W.
  void remove_lora();

  int64_t in_features, out_features;
  torch::Tensor weight, bias;

 private:
  torch::Tensor delta_weight() const;  // scale * B A for all slices, stacked (out x in), fp32
  std::vector<std::string> slices_;
  std::vector<LoraPair> adapters_;
  std::vector<torch::nn::Module*> holders_;  // the "q"/"k"/"v" modules holding each "lora"
  double scale_ = 1.0;
  bool merged_ = false;
};
TORCH_MODULE(LoraLinear);

// Normal(0, std) truncated to [-2, 2] (the timm/authors' default bounds).
void trunc_normal_(torch::Tensor t, double std);

}  // namespace lorat
