// Data-parallel training: two processes on 127.0.0.1 (c10d Gloo) reach the same weights as one
// process with the same global batch.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "lorat/checkpoint.h"
#include "lorat/config.h"
#include "test_util.h"

using namespace lorat;

TEST(Distributed, TwoProcessesEqualOneWithTheSameGlobalBatch) {
  const char* cli = std::getenv("LORAT_CLI");
  ASSERT_NE(cli, nullptr) << "LORAT_CLI must point at the lorat binary";
  std::string dir = lorat_test::temp_dir();
  torch::manual_seed(1);
  LoratModel base(find_variant("T-112"));
  save_bundle(dir + "/base.safetensors", *base, DType::F32);
  std::string common = std::string(cli) + " train otb:" + lorat_test::repo_data("sequences/Crossing10") + " --model " + dir +
                       "/base.safetensors --steps 4 --batch 4 --seed 2 --lr 1e-3 ";
  ASSERT_EQ(std::system((common + "--output " + dir + "/one >/dev/null 2>&1").c_str()), 0);
  ASSERT_EQ(std::system((common + "--output " + dir + "/two --nproc 2 >/dev/null 2>&1").c_str()), 0);
  TensorMap one = read_safetensors_tensors(dir + "/one/adapter.safetensors");
  TensorMap two = read_safetensors_tensors(dir + "/two/adapter.safetensors");
  ASSERT_EQ(one.size(), two.size());
  double worst = 0;
  for (const auto& [name, t] : one) worst = std::max(worst, (t - two.at(name)).abs().max().item<double>());
  // Summation order differs between the two (float rounding), nothing else.
  EXPECT_LT(worst, 1e-5);
  std::printf("1 vs 2 processes: largest weight difference after 4 steps %.2e\n", worst);
  // And the run really moved the weights.
  auto before = base->named_tensors();
  EXPECT_FALSE(at::allclose(one.at("head.cls_mlp.layers.2.weight"), before.at("head.cls_mlp.layers.2.weight")));
}
