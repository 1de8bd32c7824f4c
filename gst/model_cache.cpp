#include "model_cache.h"

#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "lorat/checkpoint.h"
#include "lorat/error.h"

namespace lorat_gst {

bool ModelKey::operator<(const ModelKey& o) const {
  return std::tie(model, adapter, device, precision) < std::tie(o.model, o.adapter, o.device, o.precision);
}

namespace {

std::mutex cache_lock;
std::map<ModelKey, std::weak_ptr<lorat::LoratModelImpl>> cache;

}  // namespace

lorat::LoratModel shared_model(const ModelKey& key) {
  std::lock_guard<std::mutex> guard(cache_lock);
  auto it = cache.find(key);
  if (it != cache.end())
    if (auto alive = it->second.lock()) return lorat::LoratModel(alive);
  lorat::LoratModel model = lorat::load_model(key.model, key.adapter);
  at::ScalarType dtype = key.precision == "bf16" ? at::kBFloat16 : key.precision == "fp16" ? at::kHalf : at::kFloat;
  torch::Device device = key.device == "cuda" ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  model->to_inference(device, dtype);
  model->eval();
  cache[key] = model.ptr();
  return model;
}

int live_shared_models() {
  std::lock_guard<std::mutex> guard(cache_lock);
  int n = 0;
  for (const auto& [key, weak] : cache) n += weak.expired() ? 0 : 1;
  return n;
}

}  // namespace lorat_gst
