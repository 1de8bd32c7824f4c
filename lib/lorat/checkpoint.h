// Checkpoint files: Meta's DINOv2 .pth (through LibTorch's unpickler, which only rebuilds tensors
// and plain containers: it never runs code from the file), the LoRAT authors' adapter files
// (safetensors), and this project's model bundle: one safetensors file whose __metadata__ holds the
// config, so a deployed model is one file.
#pragma once
#include <map>
#include <string>

#include "model.h"
#include "safetensors.h"

namespace lorat {

using TensorMap = std::map<std::string, torch::Tensor>;

// All tensors of a safetensors file as float32 CPU tensors.
TensorMap read_safetensors_tensors(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);
// A torch.save zip file holding a dict of tensors (a DINOv2 checkpoint), as float32 CPU tensors.
TensorMap read_pth(const std::string& path);
// Writes tensors (any float dtype, any device) converted to `dtype`, atomically.
void write_tensors(const std::string& path, const TensorMap& tensors, DType dtype,
                   const std::map<std::string, std::string>& metadata = {});

// Copies `tensors` into the model. Every key of `required` must be present with the model's
// shape and finite values; keys not known to the model are an error unless allow_unknown.
// Errors are one line naming source and key.
void load_into(LoratModelImpl& model, const TensorMap& tensors, const std::string& source,
               const std::vector<std::string>& required, bool allow_unknown);

// The block index i of a "blocks.{i}.*" tensor name, or -1 for any other name.
int block_index(const std::string& name);

// Number of blocks in a tensor map ("blocks.{i}.*" keys), 0 if none.
int count_blocks(const TensorMap& tensors);

// The authors' files: a DINOv2 base (.pth, or a safetensors file with the same keys) for the
// variant (depth taken from the file), plus optionally their LoRAT adapter (LoRA, token types,
// head). merge: fold the adapter into the weights (and drop it) as inference does.
LoratModel load_authors_model(const ModelConfig& variant, const std::string& base_path,
                              const std::string& adapter_path, bool merge);

// Adds an adapter file (the authors' release layout, or one written by save_adapter) to a model
// whose blocks carry no LoRA yet: LoRA A/B, and token_type_embed and head when the file has them.
// Scale: the file's "lora_scale" metadata, else 1 (the authors' releases hold no alpha).
void apply_adapter(LoratModelImpl& model, const std::string& adapter_path);
// Writes the trainable tensors (LoRA, token types, head) in the authors' key layout.
void save_adapter(const std::string& path, LoratModelImpl& model);

// The project's bundle: config + weights (+ unmerged LoRA, if the model has it) in one file.
void save_bundle(const std::string& path, LoratModelImpl& model, DType storage);
LoratModel load_bundle(const std::string& path);
// A bundle, with an adapter file merged in when adapter_path is not empty.
LoratModel load_model(const std::string& bundle_path, const std::string& adapter_path = "");

// A few lines describing what a checkpoint file holds (lorat info).
std::string describe_checkpoint(const std::string& path);

}  // namespace lorat
