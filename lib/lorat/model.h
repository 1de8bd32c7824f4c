// The LoRAT network: a DINOv2 ViT run on [template tokens, search tokens] with decoupled position
// embedding and token-type embedding, and the MLP head on the search tokens.
#pragma once
#include <map>
#include <mutex>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>

#include "config.h"
#include "head.h"
#include "vit.h"

namespace lorat {

// True for the tensors that train with LoRA: the adapters, token_type_embed and the head.
bool trains_with_lora(const std::string& name);

class LoratModelImpl : public torch::nn::Module {
 public:
  explicit LoratModelImpl(const ModelConfig& config);

  // z: (B, 3, Tz, Tz) template crops; x: (B, 3, S, S) search crops, both normalised RGB;
  // z_mask: (B, Tz/p, Tz/p) int64, 1 = foreground.
  HeadOutput forward(const torch::Tensor& z, const torch::Tensor& x, const torch::Tensor& z_mask);
  // The template part of the token sequence (patches + position + type): it does not change
  // while a target is tracked, so the tracker computes it once.
  torch::Tensor embed_template(const torch::Tensor& z, const torch::Tensor& z_mask);
  HeadOutput forward_embedded(const torch::Tensor& z_tokens, const torch::Tensor& x);

  // Moves the model to `device` in `dtype` for inference. Under bf16 or fp16 the final norm and
  // the head stay fp32: scores and box coordinates need more than bf16's 8 mantissa bits (an
  // argmax between near-equal cells, a box edge to a pixel), and they cost little.
  void to_inference(torch::Device device, at::ScalarType dtype);

  // pos_embed without its class entry, resized bicubically to the search grid: (1, G*G, D).
  torch::Tensor search_pos_embed();

  // LoRA on every block Linear (q, k, v, proj, fc1, fc2 / w12, w3).
  void add_lora(int64_t rank, double scale);
  bool has_lora() const;
  bool merged() const;
  void merge(bool keep_adapter = true);
  void unmerge();
  void remove_lora();

  // Spec names -> tensors, exactly what a checkpoint holds ("blocks.0.attn.qkv.q.lora.A", ...).
  std::map<std::string, torch::Tensor> named_tensors() const;
  // What trains with LoRA: the adapters, token_type_embed and the head.
  std::map<std::string, torch::Tensor> lora_trainable_tensors() const;

  ModelConfig config;
  PatchEmbed patch_embed{nullptr};
  torch::Tensor pos_embed;         // (1, 1 + g*g, D), frozen
  torch::Tensor token_type_embed;  // (3, D): template background, template foreground, search
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  Head head{nullptr};

 private:
  std::mutex resized_lock_;    // several trackers may share one model across threads
  torch::Tensor resized_pos_;  // cache of search_pos_embed()
  const void* resized_from_ = nullptr;
  int64_t resized_version_ = -1;
};
TORCH_MODULE(LoratModel);

}  // namespace lorat
