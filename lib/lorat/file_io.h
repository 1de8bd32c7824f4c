// Low-level file writing shared by the checkpoint writers.
#pragma once
#include <cstddef>

namespace lorat {

// write(2) until all of `size` bytes are out; false with errno set on failure (ENOSPC, EFBIG, EIO...).
bool write_all(int fd, const void* data, size_t size);

}  // namespace lorat
