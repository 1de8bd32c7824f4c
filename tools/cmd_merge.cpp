// lorat merge: a model (bundle, or the authors' files) with an adapter folded in, written as one
// deployable bundle; --size-update-rate sets the tracker's size smoothing stored with it.
#include <iostream>

#include "args.h"
#include "commands.h"
#include "lorat/checkpoint.h"
#include "lorat/config.h"
#include "lorat/error.h"
#include "model_loading.h"

namespace lorat_cli {

int cmd_merge(int argc, char** argv) {
  std::set<std::string> valued = {"model", "adapter", "variant", "base", "output", "storage", "size-update-rate"};
  Args args(argc, argv, valued, {});
  std::string output = args.require("output");
  std::string storage_name = args.get("storage", "fp32");
  lorat::DType storage = storage_name == "fp16" ? lorat::DType::F16 : storage_name == "bf16" ? lorat::DType::BF16 : lorat::DType::F32;
  if (storage_name != "fp32" && storage_name != "fp16" && storage_name != "bf16")
    throw lorat::Error("--storage must be fp32, fp16 or bf16, not '" + storage_name + "'");
  const double size_update_rate = args.get_double("size-update-rate", -1);
  if (args.has("size-update-rate") && !lorat::ModelConfig::valid_size_update_rate(size_update_rate))
    throw lorat::Error("--size-update-rate must be in (0, 1] (1 = the spec: the model's size as it is)");
  // Merged in fp32 and kept there: --precision auto would round the weights to bf16 on a CPU
  // with bf16 products before they are stored.
  LoadedModel loaded = load_model_from_args(args, /*convert_precision=*/false);  // merges --adapter into the weights
  if (loaded.model->has_lora()) loaded.model->merge(/*keep_adapter=*/false);
  if (args.has("size-update-rate")) loaded.model->config.size_update_rate = size_update_rate;
  lorat::save_bundle(output, *loaded.model, storage);
  std::cout << "wrote " << output << ": " << loaded.description << ", merged, " << storage_name << " storage\n";
  return 0;
}

}  // namespace lorat_cli
