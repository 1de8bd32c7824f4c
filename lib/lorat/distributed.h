// Data-parallel training over LibTorch's c10d process groups (Gloo), started like torchrun:
// RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT in the environment.
#pragma once
#include <memory>
#include <vector>

#include <torch/types.h>

namespace lorat {

class Distributed {
 public:
  // nullptr when WORLD_SIZE is unset or 1. Throws lorat::Error for a malformed environment or
  // when the group cannot form (the message names the address).
  static std::unique_ptr<Distributed> from_environment();
  ~Distributed();

  int rank() const { return rank_; }
  int world() const { return world_; }
  // In-place sum over all processes (CPU float tensors).
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  void barrier();

 private:
  Distributed() = default;
  struct Group;
  std::unique_ptr<Group> group_;
  int rank_ = 0, world_ = 1;
};

}  // namespace lorat
