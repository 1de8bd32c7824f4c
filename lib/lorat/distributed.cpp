#include "distributed.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>
#include <string>

#include "error.h"

namespace lorat {

struct Distributed::Group {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
};

static int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < 0 || x > 65535) throw Error(std::string("environment variable ") + name + "='" + v + "' is not a valid number");
  return int(x);
}

std::unique_ptr<Distributed> Distributed::from_environment() {
  int world = env_int("WORLD_SIZE", 1);
  if (world <= 1) return nullptr;
  int rank = env_int("RANK", -1);
  if (rank < 0 || rank >= world) throw Error("RANK must be set from 0 to WORLD_SIZE - 1 for distributed training");
  const char* addr_env = std::getenv("MASTER_ADDR");
  std::string addr = addr_env && *addr_env ? addr_env : "127.0.0.1";
  int port = env_int("MASTER_PORT", 29500);
  std::unique_ptr<Distributed> d(new Distributed());
  d->rank_ = rank;
  d->world_ = world;
  d->group_ = std::make_unique<Group>();
  try {
    c10d::TCPStoreOptions opts;
    opts.port = uint16_t(port);
    opts.isServer = rank == 0;
    opts.numWorkers = size_t(world);
    opts.timeout = std::chrono::seconds(120);
    d->group_->store = c10::make_intrusive<c10d::TCPStore>(addr, opts);
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(addr));
    d->group_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(d->group_->store, rank, world, options);
  } catch (const std::exception& e) {
    std::string what = e.what();
    throw Error("cannot join the process group at " + addr + ":" + std::to_string(port) + " (" + what.substr(0, what.find('\n')) + ")");
  }
  return d;
}

Distributed::~Distributed() = default;

void Distributed::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  if (tensors.empty()) return;
  // Gloo reduces a list of same-shaped tensors (one per device); ours differ, so they travel as
  // one flat buffer (all of ours share one dtype).
  std::vector<torch::Tensor> flat_parts;
  for (const auto& t : tensors) flat_parts.push_back(t.reshape({-1}));
  std::vector<torch::Tensor> buffer = {at::cat(flat_parts)};
  c10d::AllreduceOptions opts;
  opts.reduceOp = c10d::ReduceOp::SUM;
  group_->pg->allreduce(buffer, opts)->wait();
  int64_t offset = 0;
  for (auto& t : tensors) {
    t.copy_(buffer[0].narrow(0, offset, t.numel()).view(t.sizes()));
    offset += t.numel();
  }
}

void Distributed::barrier() { group_->pg->barrier()->wait(); }

}  // namespace lorat
