// libFuzzer target: the torch.save zip + pickle reader rebuilds tensors or throws lorat::Error;
// it never runs code, crashes, or reads outside the input.
#include <cstdint>
#include <vector>

#include "lorat/error.h"
#include "lorat/pth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)lorat::parse_pth(std::vector<uint8_t>(data, data + size), "fuzz.pth");
  } catch (const lorat::Error&) {
  }
  return 0;
}
