// libFuzzer target: the safetensors reader never crashes or reads out of bounds; it either
// parses or throws lorat::Error.
#include <cstdint>
#include <vector>

#include "lorat/error.h"
#include "lorat/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto file = lorat::SafetensorsFile::parse(std::vector<uint8_t>(data, data + size), "fuzz.safetensors");
    for (const auto& [name, info] : file.tensors()) (void)file.to_f32(name);
  } catch (const lorat::Error&) {
  }
  return 0;
}
