#include "checkpoint.h"

#include <ATen/ATen.h>

#include <cstring>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "error.h"
#include "pth.h"

namespace lorat {

namespace {

constexpr const char* kBundleFormat = "gst-lorat-bundle";
constexpr const char* kAdapterFormat = "gst-lorat-adapter";

std::string shape_str(at::IntArrayRef s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + ")";
}

bool is_zip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0;
}

void check_readable(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
}

}  // namespace

TensorMap read_safetensors_tensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  SafetensorsFile file = SafetensorsFile::read(path);
  TensorMap out;
  for (const auto& [name, info] : file.tensors()) {
    std::vector<float> values = file.to_f32(name);
    out[name] = at::from_blob(values.data(), info.shape, at::kFloat).clone();
  }
  if (metadata) *metadata = file.metadata();
  return out;
}

TensorMap read_pth(const std::string& path) {
  TensorMap out;
  for (auto& [name, t] : read_pth_file(path)) out[name] = at::from_blob(t.values.data(), t.shape, at::kFloat).clone();
  return out;
}

void write_tensors(const std::string& path, const TensorMap& tensors, DType dtype,
                   const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> keep;
  std::vector<TensorToWrite> list;
  for (const auto& [name, t] : tensors) {
    keep.push_back(t.detach().to(at::kCPU, at::kFloat).contiguous());
    list.push_back({name, dtype, keep.back().sizes().vec(), keep.back().data_ptr<float>()});
  }
  write_safetensors(path, list, metadata);
}

int block_index(const std::string& name) {
  if (name.rfind("blocks.", 0) != 0) return -1;
  size_t dot = name.find('.', 7);
  try {
    return std::stoi(name.substr(7, dot - 7));
  } catch (const std::exception&) {
    return -1;
  }
}

int count_blocks(const TensorMap& tensors) {
  int n = 0;
  for (const auto& [name, t] : tensors) n = std::max(n, block_index(name) + 1);
  return n;
}

void load_into(LoratModelImpl& model, const TensorMap& tensors, const std::string& source,
               const std::vector<std::string>& required, bool allow_unknown) {
  auto own = model.named_tensors();
  if (!allow_unknown)
    for (const auto& [name, t] : tensors)
      if (!own.count(name)) throw Error(source + ": tensor '" + name + "' is not part of a " + model.config.name + " model");
  torch::NoGradGuard no_grad;
  for (const auto& name : required) {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw Error(source + ": tensor '" + name + "' is missing");
    auto& dst = own.at(name);
    const auto& src = it->second;
    if (src.sizes() != dst.sizes())
      throw Error(source + ": tensor '" + name + "' has shape " + shape_str(src.sizes()) + ", the " + model.config.name +
                  " config needs " + shape_str(dst.sizes()));
    if (!at::isfinite(src).all().item<bool>()) throw Error(source + ": tensor '" + name + "' holds NaN or infinite values");
    dst.copy_(src);
  }
}

static std::vector<std::string> keys_matching(const TensorMap& own, bool lora_part) {
  std::vector<std::string> keys;
  for (const auto& [name, t] : own) {
    if (trains_with_lora(name) == lora_part) keys.push_back(name);
  }
  return keys;
}

LoratModel load_authors_model(const ModelConfig& variant, const std::string& base_path, const std::string& adapter_path,
                              bool merge) {
  TensorMap base = is_zip(base_path) || base_path.size() < 12 || base_path.substr(base_path.size() - 12) != ".safetensors"
                       ? read_pth(base_path)
                       : read_safetensors_tensors(base_path);
  ModelConfig config = variant;
  int depth = count_blocks(base);
  if (depth == 0) throw Error(base_path + ": no 'blocks.N.*' tensors: not a DINOv2 backbone");
  config.depth = depth;
  LoratModel model(config);
  load_into(*model, base, base_path, keys_matching(model->named_tensors(), false), /*allow_unknown=*/true);
  if (!adapter_path.empty()) {
    apply_adapter(*model, adapter_path);
    if (merge) model->merge(/*keep_adapter=*/false);
  }
  model->eval();
  return model;
}

void apply_adapter(LoratModelImpl& model, const std::string& adapter_path) {
  std::map<std::string, std::string> meta;
  TensorMap adapter = read_safetensors_tensors(adapter_path, &meta);
  auto rank_it = adapter.find("blocks.0.attn.qkv.q.lora.A");
  if (rank_it == adapter.end()) throw Error(adapter_path + ": tensor 'blocks.0.attn.qkv.q.lora.A' is missing: not a LoRA adapter");
  if (rank_it->second.dim() != 2) throw Error(adapter_path + ": tensor 'blocks.0.attn.qkv.q.lora.A' must be 2-D (rank x dim)");
  int blocks = count_blocks(adapter);
  if (blocks != model.config.depth)
    throw Error(adapter_path + ": the adapter has " + std::to_string(blocks) + " blocks, the model " + std::to_string(model.config.depth));
  double scale = 1.0;
  if (meta.count("lora_scale")) {
    try {
      scale = std::stod(meta.at("lora_scale"));
    } catch (const std::exception&) {
      throw Error(adapter_path + ": metadata lora_scale is not a number");
    }
  }
  if (model.has_lora()) throw Error(adapter_path + ": the model already carries an adapter");
  model.add_lora(rank_it->second.size(0), scale);
  auto own = model.named_tensors();
  std::vector<std::string> required;
  for (const auto& [name, t] : own)
    if (name.find(".lora.") != std::string::npos) required.push_back(name);
  // The head and type embedding come with the adapter in the authors' releases; an adapter
  // trained only on LoRA may leave them out and keep the model's.
  for (const auto& [name, t] : adapter)
    if (name == "token_type_embed" || name.rfind("head.", 0) == 0) required.push_back(name);
  try {
    load_into(model, adapter, adapter_path, required, /*allow_unknown=*/false);
  } catch (...) {
    model.remove_lora();
    throw;
  }
}

void save_adapter(const std::string& path, LoratModelImpl& model) {
  if (!model.has_lora() || model.merged()) throw Error(path + ": the model has no unmerged adapter to save");
  std::ostringstream scale;
  scale << std::setprecision(17) << model.config.lora_scale();
  write_tensors(path, model.lora_trainable_tensors(), DType::F32,
                {{"format", kAdapterFormat}, {"config", model.config.to_json()}, {"lora_scale", scale.str()}});
}

void save_bundle(const std::string& path, LoratModelImpl& model, DType storage) {
  if (model.has_lora() && model.merged())
    throw Error(path + ": merge the adapter without keeping it (or unmerge) before saving a bundle");
  std::map<std::string, std::string> meta = {{"format", kBundleFormat}, {"version", "1"}, {"config", model.config.to_json()}};
  if (model.has_lora()) {
    std::ostringstream scale;
    scale << std::setprecision(17) << model.config.lora_scale();
    meta["lora_scale"] = scale.str();
  }
  write_tensors(path, model.named_tensors(), storage, meta);
}

LoratModel load_bundle(const std::string& path) {
  std::map<std::string, std::string> meta;
  TensorMap tensors = read_safetensors_tensors(path, &meta);
  if (!meta.count("format") || meta.at("format") != kBundleFormat) {
    if (meta.count("format") && meta.at("format") == kAdapterFormat)
      throw Error(path + ": this is an adapter, not a model bundle (pass it as the adapter, with a base model)");
    throw Error(path + ": not a gst-lorat model bundle (no \"format\": \"gst-lorat-bundle\" in its metadata)");
  }
  if (!meta.count("config")) throw Error(path + ": the bundle has no config in its metadata");
  ModelConfig config = ModelConfig::from_json(meta.at("config"), path + " (metadata config)");
  LoratModel model(config);
  auto lora_a = tensors.find("blocks.0.attn.qkv.q.lora.A");
  if (lora_a != tensors.end()) {
    double scale = meta.count("lora_scale") ? std::atof(meta.at("lora_scale").c_str()) : config.lora_scale();
    model->add_lora(lora_a->second.size(0), scale);
  }
  std::vector<std::string> required;
  for (const auto& [name, t] : model->named_tensors()) required.push_back(name);
  load_into(*model, tensors, path, required, /*allow_unknown=*/false);
  model->eval();
  return model;
}

LoratModel load_model(const std::string& bundle_path, const std::string& adapter_path) {
  LoratModel model = load_bundle(bundle_path);
  if (!adapter_path.empty()) {
    if (model->has_lora()) model->merge(/*keep_adapter=*/false);
    apply_adapter(*model, adapter_path);
    model->merge(/*keep_adapter=*/false);
  }
  return model;
}

std::string describe_checkpoint(const std::string& path) {
  check_readable(path);
  std::ostringstream out;
  std::map<std::string, std::string> meta;
  TensorMap tensors;
  std::string kind;
  if (is_zip(path)) {
    tensors = read_pth(path);
    kind = "PyTorch checkpoint (torch.save zip)";
  } else {
    SafetensorsFile file = SafetensorsFile::read(path);
    meta = file.metadata();
    std::map<std::string, int> dtypes;
    for (const auto& [name, info] : file.tensors()) dtypes[dtype_name(info.dtype)]++;
    kind = "safetensors";
    for (const auto& [d, n] : dtypes) kind += std::string(", ") + std::to_string(n) + " x " + d;
    tensors = read_safetensors_tensors(path);
  }
  int64_t params = 0, lora_params = 0;
  for (const auto& [name, t] : tensors) {
    params += t.numel();
    if (name.find(".lora.") != std::string::npos) lora_params += t.numel();
  }
  std::string format = meta.count("format") ? meta.at("format") : "";
  std::string what = format == kBundleFormat ? "gst-lorat model bundle"
                     : format == kAdapterFormat ? "gst-lorat adapter"
                     : tensors.count("pos_embed") ? "DINOv2 backbone"
                     : tensors.count("blocks.0.attn.qkv.q.lora.A") ? "LoRAT adapter (authors' release layout)"
                                                                   : "unknown tensors";
  out << path << ": " << what << "\n";
  out << "  file: " << kind << "\n";
  out << "  tensors: " << tensors.size() << ", parameters: " << params;
  if (lora_params) out << " (LoRA: " << lora_params << ")";
  out << "\n  blocks: " << count_blocks(tensors) << "\n";
  if (tensors.count("pos_embed")) out << "  dim: " << tensors.at("pos_embed").size(2) << "\n";
  auto a = tensors.find("blocks.0.attn.qkv.q.lora.A");
  if (a != tensors.end()) out << "  LoRA rank: " << a->second.size(0) << "\n";
  for (const auto& [k, v] : meta) out << "  " << k << ": " << v << "\n";
  return out.str();
}

}  // namespace lorat
