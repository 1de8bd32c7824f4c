// The model options every lorat subcommand shares: --model BUNDLE [--adapter A], or the authors'
// files --variant V --base dinov2.pth [--adapter lorat.safetensors]; --precision, --device, --threads.
#pragma once
#include <set>
#include <string>

#include "args.h"
#include "lorat/model.h"
#include "lorat/tracker.h"

namespace lorat_cli {

extern const std::set<std::string> kModelOptions;

struct LoadedModel {
  lorat::LoratModel model{nullptr};
  torch::Device device = torch::kCPU;
  std::string description;  // one line: what was loaded, precision, device, threads
};

// Loads, merges, converts to the precision (unless convert_precision is false: training keeps fp32
// weights) and device, and sets the thread count. With use_default_model, no --model and no
// --variant/--base mean the shipped default model (lorat::default_model_path()).
LoadedModel load_model_from_args(const Args& args, bool convert_precision = true, bool use_default_model = false);

}  // namespace lorat_cli
