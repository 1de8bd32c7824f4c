// lorat new: a model bundle with random weights (tests, benchmarks, the start of training), or
// from a DINOv2 backbone with a fresh head.
#include <ATen/ATen.h>

#include <iostream>

#include "args.h"
#include "commands.h"
#include "lorat/checkpoint.h"
#include "lorat/config.h"
#include "lorat/error.h"

namespace lorat_cli {

using lorat::Error;

static lorat::DType parse_storage(const std::string& name) {
  if (name == "fp32") return lorat::DType::F32;
  if (name == "fp16") return lorat::DType::F16;
  if (name == "bf16") return lorat::DType::BF16;
  throw Error("--storage must be fp32, fp16 or bf16, not '" + name + "'");
}

int cmd_new(int argc, char** argv) {
  Args args(argc, argv, {"variant", "output", "seed", "base", "storage", "depth"}, {"lora"});
  lorat::ModelConfig config = lorat::find_variant(args.require("variant"));
  std::string output = args.require("output");
  lorat::DType storage = parse_storage(args.get("storage", "fp32"));
  if (args.has("depth")) config.depth = args.get_int("depth", config.depth, 1, 64);
  torch::manual_seed(args.get_int("seed", 0, 0, 1 << 30));
  lorat::LoratModel model{nullptr};
  if (args.has("base")) {
    model = lorat::load_authors_model(config, args.get("base"), "", false);
  } else {
    model = lorat::LoratModel(config);
  }
  if (args.has("lora")) model->add_lora(config.lora_rank, config.lora_scale());
  lorat::save_bundle(output, *model, storage);
  std::cout << "wrote " << output << " (" << config.name << ", depth " << model->config.depth
            << (args.has("base") ? ", backbone from " + args.get("base") : ", random weights") << ")\n";
  return 0;
}

}  // namespace lorat_cli
