// The training loss of the spec: IoU-aware BCE on the score logits plus GIoU on the positive cells,
// both normalised by the number of positives; optionally an L1 term on the corners (not the spec's).
#pragma once
#include <torch/types.h>

namespace lorat {

struct LossTerms {
  torch::Tensor total, bce, giou, l1;  // scalars; total = bce + giou + l1_weight * l1
  torch::Tensor mean_iou;              // of the predicted boxes at positive cells (detached), for logs
};

// Positive cells: those the target box covers, rasterised as the template mask is
// (floor(x1 * W) .. floor(x2 * W + 1 - 1e-4), end exclusive). target: (B, 4) corners in crop units.
torch::Tensor positive_cells(const torch::Tensor& target, int64_t rows, int64_t cols);

// score_logits (B, H, W); boxes (B, H, W, 4) predicted corners in crop units; target (B, 4).
// normaliser: the number of positives to divide by; undefined = this batch's own count (a
// data-parallel process passes the count over all processes, so the summed gradients equal one
// process's on the whole batch). l1_weight: weight of the L1 distance between predicted and target
// corners at positive cells (the spec: 0). GIoU alone lets a model unsure of the target's extent
// answer with a box that is too large; L1 is unbiased there.
LossTerms tracking_loss(const torch::Tensor& score_logits, const torch::Tensor& boxes, const torch::Tensor& target,
                        const torch::Tensor& normaliser = {}, double l1_weight = 0);

// IoU and GIoU of corner boxes (..., 4), elementwise over the leading dimensions.
torch::Tensor box_iou(const torch::Tensor& a, const torch::Tensor& b);
torch::Tensor box_giou(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace lorat
