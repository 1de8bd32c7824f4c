// lorat new: a model bundle with random weights (tests, benchmarks, the start of training), from a
// DINOv2 backbone with a fresh head, or a trained bundle grown deeper.
#include <ATen/ATen.h>

#include <iostream>

#include "args.h"
#include "commands.h"
#include "lorat/checkpoint.h"
#include "lorat/config.h"
#include "lorat/deepen.h"
#include "lorat/error.h"

namespace lorat_cli {

using lorat::Error;

static lorat::DType parse_storage(const std::string& name) {
  if (name == "fp32") return lorat::DType::F32;
  if (name == "fp16") return lorat::DType::F16;
  if (name == "bf16") return lorat::DType::BF16;
  throw Error("--storage must be fp32, fp16 or bf16, not '" + name + "'");
}

// --model BUNDLE [--depth N] [--layer-scale X]: the bundle with blocks added after its last.
static lorat::LoratModel deeper_model(const Args& args) {
  for (const char* other : {"variant", "base", "seed"})
    if (args.has(other)) throw Error(std::string("--model and --") + other + " do not go together: --model starts from that bundle's weights");
  lorat::LoratModel source = lorat::load_bundle(args.get("model"));
  const int depth = args.get_int("depth", int(source->config.depth), 1, 64);
  return lorat::deepen(*source, depth, args.get_double("layer-scale", 0));
}

int cmd_new(int argc, char** argv) {
  Args args(argc, argv, {"variant", "output", "seed", "base", "storage", "depth", "model", "layer-scale"}, {"lora"});
  std::string output = args.require("output");
  lorat::DType storage = parse_storage(args.get("storage", "fp32"));
  lorat::LoratModel model{nullptr};
  std::string origin;
  if (args.has("model")) {
    model = deeper_model(args);
    origin = "grown from " + args.get("model");
  } else {
    if (args.has("layer-scale")) throw Error("--layer-scale is for the blocks --model --depth adds");
    lorat::ModelConfig config = lorat::find_variant(args.require("variant"));
    if (args.has("depth")) config.depth = args.get_int("depth", config.depth, 1, 64);
    torch::manual_seed(args.get_int("seed", 0, 0, 1 << 30));
    model = args.has("base") ? lorat::load_authors_model(config, args.get("base"), "", false) : lorat::LoratModel(config);
    origin = args.has("base") ? "backbone from " + args.get("base") : "random weights";
  }
  if (args.has("lora")) model->add_lora(model->config.lora_rank, model->config.lora_scale());
  lorat::save_bundle(output, *model, storage);
  std::cout << "wrote " << output << " (" << model->config.name << ", depth " << model->config.depth << ", " << origin << ")\n";
  return 0;
}

}  // namespace lorat_cli
