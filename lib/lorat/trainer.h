// The training loop: LoRA (or full) fine-tuning with AdamW, warm-up + cosine schedule, gradient
// clipping and accumulation, batches prepared ahead by worker threads, and crash-safe checkpoints
// that resume exactly (same losses from the same seed).
#pragma once
#include <functional>
#include <string>

#include <torch/optim/optimizer.h>

#include "distributed.h"
#include "folder_lock.h"
#include "model.h"
#include "pairs.h"
#include "schedule.h"

namespace lorat {

struct TrainOptions {
  std::string out_dir;            // checkpoints/, log.jsonl, adapter.safetensors (or model.safetensors with full)
  int64_t steps = 1000;           // optimiser steps (the length of the schedule)
  int64_t stop_after = -1;        // >= 0: stop after this step (checkpointed), as if killed there; --resume goes on
  int batch = 16;                 // pairs per micro-batch
  int accumulate = 1;             // micro-batches per optimiser step
  double lr = 1e-4;
  double weight_decay = 0.1;      // not on 1-D tensors and embeddings
  double clip = 1.0;              // gradient norm
  int64_t warmup_steps = -1;      // -1: 5% of steps
  bool full = false;              // fine-tune everything (but pos_embed) instead of LoRA + type embedding + head
  bool from_scratch = false;      // full, pos_embed too, and a fresh score bias starts at -4 (most cells are background)
  double l1_weight = 0;           // weight of an L1 term on the box corners (the spec: 0)
  double layer_scale_init = 0;    // > 0: every LayerScale gamma starts at this (from scratch: 1; a resumed run loads its own)
  std::string precision = "fp32"; // or bf16 (CPU autocast)
  int workers = 2;                // batches prepared ahead
  uint64_t seed = 1;
  int64_t checkpoint_every = 100;
  bool resume = false;            // continue from out_dir's latest checkpoint
  Distributed* distributed = nullptr;  // data parallel: batch is the global batch, split over the processes
};

struct StepLog {
  int64_t step = 0, steps = 0;
  double loss = 0, bce = 0, giou = 0, l1 = 0, iou = 0, lr = 0;
  double pairs_per_second = 0, eta_seconds = 0;
};

class Trainer {
 public:
  // The model arrives as loaded (a bundle or the authors' backbone); the trainer adds LoRA unless
  // options.full. Throws lorat::Error for bad options or an unreadable checkpoint.
  Trainer(LoratModel model, const PairSource& data, TrainOptions options);
  // Runs to options.steps; calls on_step after every optimiser step. Returns the model with the
  // trained adapter (unmerged) or the fully trained weights.
  LoratModel run(const std::function<void(const StepLog&)>& on_step = {});
  int64_t start_step() const { return start_step_; }
  // Tensors that train (and that a checkpoint holds).
  std::map<std::string, torch::Tensor> trainable() const;

 private:
  void save_checkpoint(int64_t step);
  void load_checkpoint();

  std::unique_ptr<FolderLock> lock_;  // the writer's claim on out_dir, held while the trainer lives
  LoratModel model_;
  const PairSource& data_;
  TrainOptions options_;
  Schedule schedule_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  int64_t start_step_ = 0;
};

}  // namespace lorat
