#include "test_util.h"

#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;

namespace lorat_test {

static std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string repo_data(const std::string& relative) {
  return env_or("LORAT_TEST_DATA", "tests/data") + "/" + relative;
}

std::string shared_data(const std::string& relative) {
  std::string path = env_or("LORAT_SHARED_DATA", "../shared/data") + "/" + relative;
  return fs::exists(path) ? path : "";
}

std::string models_dir() { return env_or("LORAT_MODELS_DIR", "models"); }

std::string temp_dir() {
  static std::string dir;
  if (dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "lorat-test-XXXXXX").string();
    char* made = mkdtemp(pattern.data());
    dir = made ? made : fs::temp_directory_path().string();
  }
  return dir;
}

}  // namespace lorat_test

#include <cstring>
#include <fstream>
#include <stdexcept>

namespace lorat_test {

Npy read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  char magic[8];
  in.read(magic, 8);
  if (std::memcmp(magic, "\x93NUMPY\x01\x00", 8) != 0) throw std::runtime_error(path + ": not a version 1.0 .npy file");
  uint16_t header_len = 0;
  in.read(reinterpret_cast<char*>(&header_len), 2);
  std::string header(header_len, ' ');
  in.read(header.data(), header_len);
  if (header.find("'fortran_order': False") == std::string::npos) throw std::runtime_error(path + ": Fortran order");
  Npy npy;
  auto open = header.find('(', header.find("'shape'")), close = header.find(')', open);
  std::string dims = header.substr(open + 1, close - open - 1);
  int64_t count = 1;
  for (size_t pos = 0; pos < dims.size();) {
    size_t comma = dims.find(',', pos);
    std::string d = dims.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (d.find_first_of("0123456789") != std::string::npos) {
      npy.shape.push_back(std::stoll(d));
      count *= npy.shape.back();
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (header.find("'<f4'") != std::string::npos) {
    npy.f32.resize(count);
    in.read(reinterpret_cast<char*>(npy.f32.data()), count * 4);
  } else if (header.find("'<i8'") != std::string::npos) {
    npy.i64.resize(count);
    in.read(reinterpret_cast<char*>(npy.i64.data()), count * 8);
  } else {
    throw std::runtime_error(path + ": unsupported dtype");
  }
  if (!in) throw std::runtime_error(path + ": truncated");
  return npy;
}

}  // namespace lorat_test
