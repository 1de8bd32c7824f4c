// One exception type for everything a user can get wrong (files, boxes, options).
// what() is a single sentence that names the file (and key) involved.
#pragma once
#include <stdexcept>
#include <string>

namespace lorat {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace lorat
