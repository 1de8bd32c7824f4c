#include "deepen.h"

#include <ATen/ATen.h>

#include <cmath>
#include <string>

#include "error.h"

namespace lorat {

namespace {
// The block index of "blocks.{i}.rest" and its "rest", or -1 for any other name.
int64_t block_index(const std::string& name, std::string* rest) {
  const std::string prefix = "blocks.";
  if (name.rfind(prefix, 0) != 0) return -1;
  const size_t dot = name.find('.', prefix.size());
  *rest = name.substr(dot + 1);
  return std::stoll(name.substr(prefix.size(), dot - prefix.size()));
}
}  // namespace

LoratModel deepen(const LoratModelImpl& source, int64_t depth, double layer_scale) {
  const int64_t from = source.config.depth;
  if (depth < from)
    throw Error("depth " + std::to_string(depth) + " is below the model's own (" + std::to_string(from) + "): blocks can be added, not removed");
  if (!std::isfinite(layer_scale)) throw Error("the new blocks' layer scale must be a finite number");
  if (source.has_lora()) throw Error("the model carries a LoRA adapter: merge it first (lorat merge)");
  ModelConfig config = source.config;
  config.depth = depth;
  LoratModel deeper(config);
  const auto have = source.named_tensors();
  const std::string last = "blocks." + std::to_string(from - 1) + ".";
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : deeper->named_tensors()) {
    std::string rest;
    const bool added = block_index(name, &rest) >= from;
    t.copy_(have.at(added ? last + rest : name));
    if (added && rest.size() > 6 && rest.compare(rest.size() - 6, 6, ".gamma") == 0) t.fill_(layer_scale);
  }
  return deeper;
}

}  // namespace lorat
