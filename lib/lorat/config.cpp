#include "config.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "error.h"
#include "lorat_paths.h"

namespace lorat {

namespace fs = std::filesystem;
using nlohmann::json;

double ModelConfig::lora_scale() const {
  return rslora ? lora_alpha / std::sqrt(double(lora_rank)) : lora_alpha / lora_rank;
}

void ModelConfig::validate(const std::string& source) const {
  auto fail = [&](const std::string& what) { throw Error(source + ": " + what); };
  if (dim <= 0 || depth <= 0 || heads <= 0 || mlp_hidden <= 0 || patch <= 0) fail("dim, depth, heads, mlp_hidden and patch must be positive");
  if (dim % heads != 0) fail("dim " + std::to_string(dim) + " is not a multiple of heads " + std::to_string(heads));
  if (mlp != "gelu" && mlp != "swiglu") fail("mlp must be \"gelu\" or \"swiglu\", not \"" + mlp + "\"");
  if (template_size <= 0 || search_size <= 0 || template_size % patch || search_size % patch)
    fail("template_size and search_size must be positive multiples of patch " + std::to_string(patch));
  if (template_grid() > search_grid()) fail("the template grid must not be larger than the search grid");
  if (!(template_factor > 0) || !(search_factor > 0)) fail("context factors must be positive");
  if (pos_embed_grid <= 0) fail("pos_embed_grid must be positive");
  if (lora_rank <= 0 || !(lora_alpha > 0)) fail("lora_rank and lora_alpha must be positive");
  if (!(window_penalty >= 0 && window_penalty <= 1)) fail("window_penalty must be in [0, 1]");
  if (!(min_box_size >= 0)) fail("min_box_size must not be negative");
  if (!valid_size_update_rate(size_update_rate)) fail("size_update_rate must be in (0, 1]");
}

ModelConfig ModelConfig::from_json(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(source + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw Error(source + ": a model config must be a JSON object");
  ModelConfig c;
  auto take = [&](const char* key, auto& field) {
    if (!j.contains(key)) return;
    try {
      j.at(key).get_to(field);
    } catch (const json::exception&) {
      throw Error(source + ": field \"" + key + "\" has the wrong type");
    }
  };
  static const char* known[] = {"name", "dim", "depth", "heads", "mlp", "mlp_hidden", "patch", "template_size",
                                "search_size", "template_factor", "search_factor", "pos_embed_grid", "lora_rank",
                                "lora_alpha", "rslora", "window_penalty", "min_box_size",
                                "size_update_rate", "comment"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const char* k : known) ok = ok || it.key() == k;
    if (!ok) throw Error(source + ": unknown field \"" + it.key() + "\"");
  }
  for (const char* required : {"name", "dim", "depth", "heads"})
    if (!j.contains(required)) throw Error(source + ": missing field \"" + required + "\"");
  take("name", c.name);
  take("dim", c.dim);
  take("depth", c.depth);
  take("heads", c.heads);
  take("mlp", c.mlp);
  c.mlp_hidden = 4 * c.dim;
  take("mlp_hidden", c.mlp_hidden);
  take("patch", c.patch);
  take("template_size", c.template_size);
  take("search_size", c.search_size);
  take("template_factor", c.template_factor);
  take("search_factor", c.search_factor);
  take("pos_embed_grid", c.pos_embed_grid);
  take("lora_rank", c.lora_rank);
  take("lora_alpha", c.lora_alpha);
  take("rslora", c.rslora);
  take("window_penalty", c.window_penalty);
  take("min_box_size", c.min_box_size);
  take("size_update_rate", c.size_update_rate);
  c.validate(source);
  return c;
}

std::string ModelConfig::to_json() const {
  json j = {{"name", name},
            {"dim", dim},
            {"depth", depth},
            {"heads", heads},
            {"mlp", mlp},
            {"mlp_hidden", mlp_hidden},
            {"patch", patch},
            {"template_size", template_size},
            {"search_size", search_size},
            {"template_factor", template_factor},
            {"search_factor", search_factor},
            {"pos_embed_grid", pos_embed_grid},
            {"lora_rank", lora_rank},
            {"lora_alpha", lora_alpha},
            {"rslora", rslora},
            {"window_penalty", window_penalty},
            {"min_box_size", min_box_size},
            {"size_update_rate", size_update_rate}};
  return j.dump();
}

ModelConfig load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open model config");
  std::stringstream text;
  text << in.rdbuf();
  return ModelConfig::from_json(text.str(), path);
}

std::vector<std::string> model_search_dirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("LORAT_MODELS_DIR"); env && *env) dirs.push_back(env);
  dirs.push_back(LORAT_SOURCE_MODELS_DIR);
  dirs.push_back(LORAT_INSTALLED_MODELS_DIR);
  return dirs;
}

std::vector<std::string> default_model_candidates() {
  if (const char* env = std::getenv("LORAT_DEFAULT_MODEL"); env && *env) return {env};
  std::vector<std::string> out;
  for (const auto& dir : model_search_dirs()) out.push_back((fs::path(dir) / kDefaultModelName).string());
  return out;
}

std::string default_model_path() {
  for (const auto& candidate : default_model_candidates()) {
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate;
  }
  return "";
}

std::string default_model_searched() {
  std::string out;
  for (const auto& candidate : default_model_candidates()) out += (out.empty() ? "" : ", ") + candidate;
  return out;
}

ModelConfig find_variant(const std::string& name) {
  if (fs::exists(name) && fs::is_regular_file(name)) return load_config_file(name);
  std::string known;
  for (const auto& dir : model_search_dirs()) {
    fs::path candidate = fs::path(dir) / (name + ".json");
    if (fs::exists(candidate)) return load_config_file(candidate.string());
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".json") known += (known.empty() ? "" : ", ") + entry.path().stem().string();
    if (!known.empty()) break;
  }
  throw Error("unknown model variant \"" + name + "\" (known: " + (known.empty() ? "none found" : known) + ")");
}

}  // namespace lorat
