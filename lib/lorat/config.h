// A model variant: everything that sizes the network and the tracker, read from models/*.json.
#pragma once
#include <string>
#include <vector>

namespace lorat {

struct ModelConfig {
  std::string name;               // e.g. "S-224"
  int dim = 384;                  // token width
  int depth = 12;                 // transformer blocks
  int heads = 6;
  std::string mlp = "gelu";       // "gelu" (fc1, fc2) or "swiglu" (w12, w3)
  int mlp_hidden = 1536;          // GELU: fc1 width; SwiGLU: width of each w12 half (w3 input)
  int patch = 14;
  int template_size = 112;        // template crop, pixels
  int search_size = 224;          // search crop, pixels
  double template_factor = 2.0;   // context (area) factors of the SiamFC crop
  double search_factor = 4.0;
  int pos_embed_grid = 37;        // grid of the stored pos_embed (DINOv2 trained at 518 px)
  int lora_rank = 64;
  double lora_alpha = 64;
  bool rslora = false;            // scale alpha / sqrt(r) instead of alpha / r
  double window_penalty = 0.45;   // Hann blend weight of the decode
  double min_box_size = 10;       // search box w, h raised to at least this many pixels
  // Share of the predicted size taken each frame, geometrically (w = prev^(1-r) * pred^r); the
  // centre is always the prediction's. 1 is the spec (take the prediction as it is); a small model
  // whose size estimate is noisy can ship less.
  double size_update_rate = 1;
  static bool valid_size_update_rate(double r) { return r > 0 && r <= 1; }

  int template_grid() const { return template_size / patch; }
  int search_grid() const { return search_size / patch; }
  double lora_scale() const;

  // Throws lorat::Error naming `source` for a missing/wrong field or inconsistent sizes.
  static ModelConfig from_json(const std::string& text, const std::string& source);
  std::string to_json() const;
  void validate(const std::string& source) const;
};

// Reads a config file (models/S-224.json, or any path).
ModelConfig load_config_file(const std::string& path);

// A variant by name ("S-224", "B-378", ...) from the models directory: the source tree's, the
// installed one, or $LORAT_MODELS_DIR. Throws lorat::Error listing the known names.
ModelConfig find_variant(const std::string& name);

// The folders searched for models, in order: $LORAT_MODELS_DIR, the source tree's models/, the
// installed models folder.
std::vector<std::string> model_search_dirs();

// The shipped default model, relative to a models folder.
inline constexpr const char* kDefaultModelName = "starter/starter.safetensors";

// Where the default model is looked for, in order: kDefaultModelName in each model_search_dirs();
// or, when $LORAT_DEFAULT_MODEL is set and not empty, that path alone (an override, and the tests'
// way to make the default absent whatever the source tree holds).
std::vector<std::string> default_model_candidates();

// The first default_model_candidates() that is a file; "" when none is.
std::string default_model_path();

// default_model_candidates() joined with ", ", for error messages.
std::string default_model_searched();

}  // namespace lorat
