#include "deepen.h"

#include <ATen/ATen.h>

#include <cmath>
#include <string>

#include "checkpoint.h"
#include "error.h"

namespace lorat {

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
    const int i = block_index(name);
    if (i < from) {
      t.copy_(have.at(name));
      continue;
    }
    // An added block: "blocks.{i}.rest" takes the last block's "rest".
    const std::string rest = name.substr(("blocks." + std::to_string(i) + ".").size());
    t.copy_(have.at(last + rest));
    if (rest.size() > 6 && rest.compare(rest.size() - 6, 6, ".gamma") == 0) t.fill_(layer_scale);
  }
  return deeper;
}

}  // namespace lorat
