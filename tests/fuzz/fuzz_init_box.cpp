// libFuzzer target: lorattrack's init-box property ("x,y,w,h;...") parses or throws lorat::Error;
// every box it accepts has a positive, finite size.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lorat/error.h"
#include "lorat/sequence.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    for (const auto& b : lorat::parse_boxes(text))
      if (!(b.w > 0 && b.h > 0 && std::isfinite(b.x) && std::isfinite(b.y) && std::isfinite(b.w) && std::isfinite(b.h))) std::abort();
  } catch (const lorat::Error&) {
  }
  return 0;
}
