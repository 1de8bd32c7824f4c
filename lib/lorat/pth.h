// A reader for PyTorch checkpoints in the torch.save zip format (e.g. Meta's
// dinov2_vits14_pretrain.pth), written without LibTorch: LibTorch 1.13's C++ unpickler turns
// collections.OrderedDict into None, and it would execute whatever globals a file names.
//
// Our own minimal zip reader (stored entries only, ZIP64 included) finds <archive>/data.pkl and
// <archive>/data/<key>; a small pickle stack machine understands only the opcodes and the few
// globals a plain tensor checkpoint uses. Every offset, size and stride is checked against the
// file before anything is read or allocated; every problem is one lorat::Error("<path>: <what>").
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lorat {

struct PthTensor {
  std::string dtype;            // as stored: "F32", "F16", "BF16", "F64"
  std::vector<int64_t> shape;   // empty for a 0-dim tensor
  std::vector<float> values;    // converted to float32, contiguous row-major
};

// Reads a torch.save zip checkpoint holding a dict (plain or OrderedDict, possibly nested under a
// "model"/"state_dict"/"teacher" key) of tensors. Non-tensor values (ints, nested dicts other than a
// wrapper) are skipped. The file is memory-mapped, so it must not change while it is read.
std::map<std::string, PthTensor> read_pth_file(const std::string& path);

// The same on bytes already in memory (path is only used in messages). For tests and fuzzing.
std::map<std::string, PthTensor> parse_pth(const std::vector<uint8_t>& bytes, const std::string& path);

}  // namespace lorat
