#include "head.h"

#include <ATen/ATen.h>

#include "lora.h"

namespace lorat {

MlpStackImpl::MlpStackImpl(int64_t dim, int64_t out) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t o : {dim, dim, out}) {
    torch::nn::Linear linear(dim, o);
    trunc_normal_(linear->weight, 0.02);
    torch::NoGradGuard no_grad;
    linear->bias.zero_();
    layers->push_back(linear);
  }
}

torch::Tensor MlpStackImpl::forward(torch::Tensor x) {
  for (size_t i = 0; i < layers->size(); ++i) {
    x = layers[i]->as<torch::nn::Linear>()->forward(x);
    if (i + 1 < layers->size()) x = at::gelu(x);
  }
  return x;
}

HeadImpl::HeadImpl(int64_t dim) {
  cls_mlp = register_module("cls_mlp", MlpStack(dim, 1));
  reg_mlp = register_module("reg_mlp", MlpStack(dim, 4));
}

HeadOutput HeadImpl::forward(const torch::Tensor& tokens, int64_t rows, int64_t cols) {
  const int64_t B = tokens.size(0);
  HeadOutput out;
  out.score_logits = cls_mlp->forward(tokens).reshape({B, rows, cols});
  out.box_logits = reg_mlp->forward(tokens).reshape({B, rows, cols, 4});
  out.boxes = decode_boxes(out.box_logits);
  return out;
}

torch::Tensor decode_boxes(const torch::Tensor& box_logits) {
  const int64_t rows = box_logits.size(1), cols = box_logits.size(2);
  auto opts = box_logits.options();
  auto cx = (at::arange(cols, opts) + 0.5) / double(cols);
  auto cy = (at::arange(rows, opts) + 0.5) / double(rows);
  auto ltrb = at::sigmoid(box_logits);
  auto gx = cx.view({1, 1, cols}), gy = cy.view({1, rows, 1});
  auto l = ltrb.select(-1, 0), t = ltrb.select(-1, 1), r = ltrb.select(-1, 2), b = ltrb.select(-1, 3);
  return at::stack({gx - l, gy - t, gx + r, gy + b}, -1);
}

}  // namespace lorat
