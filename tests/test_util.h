// Helpers shared by the tests: where the data is, and skipping when ../shared is absent.
#pragma once
#include <string>

namespace lorat_test {

std::string repo_data(const std::string& relative);    // tests/data/<relative>
std::string shared_data(const std::string& relative);  // ../shared/data/<relative>, "" when absent
std::string models_dir();
std::string temp_dir();  // a fresh empty directory for this test process

}  // namespace lorat_test

// Skips the test when ../shared/data (or the file in it) is not present.
#define LORAT_REQUIRE_SHARED(var, relative)                                         \
  std::string var = lorat_test::shared_data(relative);                             \
  if (var.empty()) GTEST_SKIP() << "../shared/data/" << (relative) << " not present"

#include <cstdint>
#include <vector>

namespace lorat_test {

// A NumPy .npy file (version 1.0, little-endian, C order) of '<f4' or '<i8'.
struct Npy {
  std::vector<int64_t> shape;
  std::vector<float> f32;    // for '<f4'
  std::vector<int64_t> i64;  // for '<i8'
};
Npy read_npy(const std::string& path);  // fails the test (throws std::runtime_error) on a bad file

}  // namespace lorat_test
