// The anchor-free MLP head of the spec: a score logit and a box (l, t, r, b) per search token.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

namespace lorat {

// Linear GELU Linear GELU Linear, registered as "layers.0", "layers.1", "layers.2".
class MlpStackImpl : public torch::nn::Module {
 public:
  MlpStackImpl(int64_t dim, int64_t out);
  torch::Tensor forward(torch::Tensor x);
  torch::nn::ModuleList layers{nullptr};
};
TORCH_MODULE(MlpStack);

struct HeadOutput {
  torch::Tensor score_logits;  // (B, H, W)
  torch::Tensor box_logits;    // (B, H, W, 4), before the sigmoid, channels l, t, r, b
  torch::Tensor boxes;         // (B, H, W, 4), corners x1, y1, x2, y2 in crop units (0..1)
};

class HeadImpl : public torch::nn::Module {
 public:
  explicit HeadImpl(int64_t dim);
  // tokens: (B, H*W, D) search tokens, row-major.
  HeadOutput forward(const torch::Tensor& tokens, int64_t rows, int64_t cols);
  MlpStack cls_mlp{nullptr}, reg_mlp{nullptr};
};
TORCH_MODULE(Head);

// Boxes from box logits: sigmoid gives distances from each cell centre ((j + .5)/W, (i + .5)/H).
torch::Tensor decode_boxes(const torch::Tensor& box_logits);

}  // namespace lorat
