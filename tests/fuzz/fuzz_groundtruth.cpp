// libFuzzer target: ground-truth files (OTB 4 values, VOT 8 values, any separators) parse or
// throw lorat::Error.
#include <cstdint>
#include <string>

#include "lorat/error.h"
#include "lorat/sequence.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  for (bool one_based : {false, true}) {
    try {
      (void)lorat::parse_groundtruth(text, "fuzz.txt", one_based);
    } catch (const lorat::Error&) {
    }
  }
  return 0;
}
