#include "loss.h"

#include <ATen/ATen.h>

#include <cmath>

namespace lorat {

torch::Tensor positive_cells(const torch::Tensor& target, int64_t rows, int64_t cols) {
  auto t = target.detach().to(at::kCPU, at::kDouble);
  const int64_t B = t.size(0);
  auto mask = torch::zeros({B, rows, cols});
  auto acc = t.accessor<double, 2>();
  for (int64_t b = 0; b < B; ++b) {
    auto cell_range = [](double lo, double hi, int64_t n, int64_t& a, int64_t& e) {
      a = std::clamp<int64_t>(int64_t(std::floor(lo * n)), 0, n);
      e = std::clamp<int64_t>(int64_t(std::floor(hi * n + 1 - 1e-4)), 0, n);
    };
    int64_t x1, x2, y1, y2;
    cell_range(acc[b][0], acc[b][2], cols, x1, x2);
    cell_range(acc[b][1], acc[b][3], rows, y1, y2);
    if (x2 > x1 && y2 > y1) mask[b].slice(0, y1, y2).slice(1, x1, x2).fill_(1);
  }
  return mask.to(target.device());
}

static void corners(const torch::Tensor& t, torch::Tensor& x1, torch::Tensor& y1, torch::Tensor& x2, torch::Tensor& y2) {
  x1 = t.select(-1, 0), y1 = t.select(-1, 1), x2 = t.select(-1, 2), y2 = t.select(-1, 3);
}

// Intersection and union areas of corner boxes.
static void overlap(const torch::Tensor& a, const torch::Tensor& b, torch::Tensor& inter, torch::Tensor& uni) {
  torch::Tensor ax1, ay1, ax2, ay2, bx1, by1, bx2, by2;
  corners(a, ax1, ay1, ax2, ay2);
  corners(b, bx1, by1, bx2, by2);
  auto iw = (at::minimum(ax2, bx2) - at::maximum(ax1, bx1)).clamp_min(0);
  auto ih = (at::minimum(ay2, by2) - at::maximum(ay1, by1)).clamp_min(0);
  inter = iw * ih;
  uni = (ax2 - ax1).clamp_min(0) * (ay2 - ay1).clamp_min(0) + (bx2 - bx1).clamp_min(0) * (by2 - by1).clamp_min(0) - inter;
}

torch::Tensor box_iou(const torch::Tensor& a, const torch::Tensor& b) {
  torch::Tensor inter, uni;
  overlap(a, b, inter, uni);
  return inter / uni.clamp_min(1e-7);
}

torch::Tensor box_giou(const torch::Tensor& a, const torch::Tensor& b) {
  torch::Tensor inter, uni;
  overlap(a, b, inter, uni);
  auto iou = inter / uni.clamp_min(1e-7);
  auto hull_w = at::maximum(a.select(-1, 2), b.select(-1, 2)) - at::minimum(a.select(-1, 0), b.select(-1, 0));
  auto hull_h = at::maximum(a.select(-1, 3), b.select(-1, 3)) - at::minimum(a.select(-1, 1), b.select(-1, 1));
  auto hull = hull_w * hull_h;
  return iou - (hull - uni) / hull.clamp_min(1e-7);
}

LossTerms tracking_loss(const torch::Tensor& score_logits, const torch::Tensor& boxes, const torch::Tensor& target,
                        const torch::Tensor& normaliser, double l1_weight) {
  const int64_t B = score_logits.size(0), H = score_logits.size(1), W = score_logits.size(2);
  auto logits = score_logits.to(at::kFloat);
  auto pred = boxes.to(at::kFloat);
  auto pos = positive_cells(target, H, W);                      // (B, H, W)
  auto tgt = target.to(at::kFloat).view({B, 1, 1, 4}).expand({B, H, W, 4});
  auto num_pos = (normaliser.defined() ? normaliser.to(pos.device()) : pos.sum()).clamp_min(1.0);
  auto iou = box_iou(pred, tgt).detach();
  auto bce_target = iou * pos;                                   // IoU-aware: the quality on positives, 0 elsewhere
  LossTerms out;
  out.bce = at::binary_cross_entropy_with_logits(logits, bce_target, {}, {}, at::Reduction::Sum) / num_pos;
  out.giou = ((1 - box_giou(pred, tgt)) * pos).sum() / num_pos;
  out.l1 = ((pred - tgt).abs().sum(-1) * pos).sum() / num_pos;
  out.total = out.bce + out.giou;
  if (l1_weight > 0) out.total = out.total + l1_weight * out.l1;
  out.mean_iou = (iou * pos).sum() / num_pos;
  return out;
}

}  // namespace lorat
