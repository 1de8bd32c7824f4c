#include "model_loading.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include "lorat/checkpoint.h"
#include "lorat/config.h"
#include "lorat/error.h"
#include "lorat/precision.h"

namespace lorat_cli {

using lorat::Error;

const std::set<std::string> kModelOptions = {"model", "adapter", "variant", "base", "precision", "device", "threads"};

LoadedModel load_model_from_args(const Args& args, bool convert_precision, bool use_default_model) {
  LoadedModel out;
  if (args.has("threads")) at::set_num_threads(args.get_int("threads", 1, 1, 1024));

  std::string device = args.get("device", "cpu");
  if (device == "cuda") {
    if (!torch::cuda::is_available()) throw Error("--device cuda: no CUDA device is available (or LibTorch was built without CUDA)");
    out.device = torch::Device(torch::kCUDA);
  } else if (device != "cpu") {
    throw Error("--device must be cpu or cuda, not '" + device + "'");
  }

  std::string precision = args.get("precision", "auto");
  if (precision == "auto") precision = lorat::auto_precision(out.device.is_cuda());
  at::ScalarType dtype;
  if (precision == "fp32") dtype = at::kFloat;
  else if (precision == "bf16") dtype = at::kBFloat16;
  else if (precision == "fp16") {
    if (!out.device.is_cuda()) throw Error("--precision fp16 needs --device cuda (on a CPU use bf16 or fp32)");
    dtype = at::kHalf;
  } else {
    throw Error("--precision must be auto, fp32, bf16 or fp16, not '" + precision + "'");
  }

  std::string adapter = args.get("adapter");
  if (args.has("model")) {
    if (args.has("base")) throw Error("give either --model or --variant with --base, not both");
    out.model = lorat::load_model(args.get("model"), adapter);
    out.description = args.get("model");
    if (args.has("variant")) {
      // The bundle's weights in another variant's geometry (its crop sizes, say): every tensor
      // must keep its shape; the position embedding is resized to any search grid anyway.
      lorat::ModelConfig variant = lorat::find_variant(args.get("variant"));
      lorat::LoratModel moved(variant);
      auto from = out.model->named_tensors(), to = moved->named_tensors();
      torch::NoGradGuard no_grad;
      for (auto& [name, t] : to) {
        auto it = from.find(name);
        if (it == from.end() || it->second.sizes() != t.sizes())
          throw Error("--variant " + variant.name + " does not fit " + args.get("model") + ": tensor '" + name + "' " +
                      (it == from.end() ? "is missing" : "has another shape"));
        t.copy_(it->second);
      }
      out.model = moved;
      out.description += " as " + variant.name;
    }
  } else if (args.has("base") || args.has("variant")) {
    if (!args.has("variant") || !args.has("base")) throw Error("the authors' files need both --variant (e.g. S-224) and --base (DINOv2 .pth)");
    lorat::ModelConfig variant = lorat::find_variant(args.get("variant"));
    out.model = lorat::load_authors_model(variant, args.get("base"), adapter, /*merge=*/true);
    out.description = variant.name + " from " + args.get("base") + (adapter.empty() ? "" : " + " + adapter);
  } else if (use_default_model) {
    std::string path = lorat::default_model_path();
    if (path.empty())
      throw Error(std::string("no model: give --model BUNDLE (or --variant V --base dinov2.pth); the default model ") + lorat::kDefaultModelName +
                  " was not found (looked for " + lorat::default_model_searched() + ")");
    out.model = lorat::load_model(path, adapter);
    out.description = "default model " + path;
  } else {
    throw Error("no model: give --model BUNDLE, or --variant V --base dinov2.pth [--adapter lorat.safetensors]");
  }
  out.model->to_inference(out.device, convert_precision ? dtype : at::kFloat);
  out.model->eval();
  out.description += " (" + out.model->config.name + ", depth " + std::to_string(out.model->config.depth) + ", " + precision +
                     ", " + device + ", " + std::to_string(at::get_num_threads()) + " threads)";
  return out;
}

}  // namespace lorat_cli
