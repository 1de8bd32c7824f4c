// Model configs: the shipped variants parse; a wrong config gives one clear line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "lorat/config.h"
#include "lorat/error.h"
#include "test_util.h"

using namespace lorat;
using ::testing::HasSubstr;

TEST(Config, PublishedVariants) {
  struct Want {
    const char* name;
    int dim, depth, heads, search, tmpl;
    double factor;
  };
  for (Want w : {Want{"S-224", 384, 12, 6, 224, 112, 4.0}, Want{"B-224", 768, 12, 12, 224, 112, 4.0}, Want{"B-378", 768, 12, 12, 378, 196, 5.0},
                 Want{"L-224", 1024, 24, 16, 224, 112, 4.0}, Want{"L-378", 1024, 24, 16, 378, 196, 5.0},
                 Want{"g-224", 1536, 40, 24, 224, 112, 4.0}, Want{"g-378", 1536, 40, 24, 378, 196, 5.0}}) {
    ModelConfig c = find_variant(w.name);
    EXPECT_EQ(c.dim, w.dim) << w.name;
    EXPECT_EQ(c.depth, w.depth) << w.name;
    EXPECT_EQ(c.heads, w.heads) << w.name;
    EXPECT_EQ(c.search_size, w.search) << w.name;
    EXPECT_EQ(c.template_size, w.tmpl) << w.name;
    EXPECT_DOUBLE_EQ(c.search_factor, w.factor) << w.name;
    EXPECT_DOUBLE_EQ(c.template_factor, 2.0) << w.name;
    EXPECT_DOUBLE_EQ(c.lora_scale(), 1.0) << w.name;
  }
  ModelConfig g = find_variant("g-378");
  EXPECT_EQ(g.mlp, "swiglu");
  EXPECT_EQ(g.mlp_hidden, 4096);
  EXPECT_EQ(g.search_grid(), 27);
  EXPECT_EQ(g.template_grid(), 14);
}

TEST(Config, JsonRoundTripAndRsLoraScale) {
  ModelConfig c = find_variant("B-224");
  c.rslora = true;
  ModelConfig back = ModelConfig::from_json(c.to_json(), "test");
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_DOUBLE_EQ(back.lora_scale(), 64 / 8.0);
  // The tracker settings: the spec's by default, a bundle's own when it sets them.
  EXPECT_EQ(c.size_update_rate, 1);
  c.size_update_rate = 0.3;
  EXPECT_EQ(ModelConfig::from_json(c.to_json(), "test").size_update_rate, 0.3);
}

static std::string error_of(const std::string& json) {
  try {
    ModelConfig::from_json(json, "my.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Config, BadConfigs) {
  EXPECT_THAT(error_of("{"), HasSubstr("my.json: not valid JSON"));
  EXPECT_THAT(error_of("[1]"), HasSubstr("must be a JSON object"));
  EXPECT_THAT(error_of(R"({"name":"x","dim":64,"heads":2})"), HasSubstr("missing field \"depth\""));
  EXPECT_THAT(error_of(R"({"name":"x","dim":65,"depth":1,"heads":2})"), HasSubstr("not a multiple of heads"));
  EXPECT_THAT(error_of(R"({"name":"x","dim":64,"depth":1,"heads":2,"dims":3})"), HasSubstr("unknown field \"dims\""));
  EXPECT_THAT(error_of(R"({"name":"x","dim":"64","depth":1,"heads":2})"), HasSubstr("\"dim\" has the wrong type"));
  EXPECT_THAT(error_of(R"({"name":"x","dim":64,"depth":1,"heads":2,"search_size":100})"), HasSubstr("multiples of patch"));
  EXPECT_THAT(error_of(R"({"name":"x","dim":64,"depth":1,"heads":2,"mlp":"relu"})"), HasSubstr("mlp must be"));
  EXPECT_THAT(error_of(R"({"name":"x","dim":64,"depth":1,"heads":2,"size_update_rate":0})"), HasSubstr("size_update_rate must be in (0, 1]"));
  EXPECT_THAT(error_of(R"({"name":"x","dim":64,"depth":1,"heads":2,"size_update_rate":1.5})"), HasSubstr("size_update_rate must be in (0, 1]"));
}

TEST(Config, UnknownVariantListsTheKnownOnes) {
  try {
    find_variant("Z-999");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("Z-999"));
    EXPECT_THAT(e.what(), HasSubstr("B-224"));
  }
}

// The shipped default model: starter/starter.safetensors in $LORAT_MODELS_DIR first, then the
// source tree's and the installed models folders; $LORAT_DEFAULT_MODEL replaces the search.
TEST(Config, DefaultModelSearchOrder) {
  namespace fs = std::filesystem;
  const char* old_dir = std::getenv("LORAT_MODELS_DIR");
  std::string saved_dir = old_dir ? old_dir : "";
  unsetenv("LORAT_DEFAULT_MODEL");
  fs::path dir = fs::path(lorat_test::temp_dir()) / "models-with-starter";
  setenv("LORAT_MODELS_DIR", dir.c_str(), 1);

  auto candidates = default_model_candidates();
  auto dirs = model_search_dirs();
  ASSERT_EQ(candidates.size(), dirs.size());
  EXPECT_EQ(candidates[0], (dir / "starter" / "starter.safetensors").string());
  for (size_t i = 0; i < dirs.size(); ++i) EXPECT_EQ(candidates[i], (fs::path(dirs[i]) / kDefaultModelName).string());
  EXPECT_THAT(default_model_searched(), HasSubstr(candidates[0] + ", "));

  // Present in $LORAT_MODELS_DIR: that one, whatever the other folders hold.
  fs::create_directories(dir / "starter");
  { std::ofstream(dir / "starter" / "starter.safetensors") << "x"; }
  EXPECT_EQ(default_model_path(), candidates[0]);

  // The override: that path alone, "" when it is not a file.
  setenv("LORAT_DEFAULT_MODEL", "/nonexistent/starter.safetensors", 1);
  EXPECT_EQ(default_model_candidates(), std::vector<std::string>{"/nonexistent/starter.safetensors"});
  EXPECT_EQ(default_model_path(), "");
  EXPECT_EQ(default_model_searched(), "/nonexistent/starter.safetensors");
  setenv("LORAT_DEFAULT_MODEL", dir.c_str(), 1);  // a folder is not a model
  EXPECT_EQ(default_model_path(), "");

  unsetenv("LORAT_DEFAULT_MODEL");
  if (old_dir) setenv("LORAT_MODELS_DIR", saved_dir.c_str(), 1);
  else unsetenv("LORAT_MODELS_DIR");
}
