// The safetensors file format (https://huggingface.co/docs/safetensors), read and written by our own
// code: 8-byte little-endian header length N, N bytes of JSON, then raw little-endian tensor data.
// The reader checks every offset and shape against the header and the file size before it
// allocates or reads anything; the writer writes a temporary file and renames it (atomic).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lorat {

enum class DType { F32, F16, BF16 };

const char* dtype_name(DType dtype);  // "F32", "F16", "BF16"
size_t dtype_size(DType dtype);

struct TensorInfo {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // data_offsets, relative to the start of the data section
  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Reads and validates the whole file. Throws lorat::Error naming the path (and key) on any
  // problem: missing/unreadable file, truncated, header length past the end, bad JSON, unknown
  // dtype, shape and offsets that disagree, offsets out of range or overlapping, gaps.
  static SafetensorsFile read(const std::string& path);
  // Same checks on bytes already in memory (path is only used in messages). For fuzzing and tests.
  static SafetensorsFile parse(std::vector<uint8_t> bytes, const std::string& path);

  const std::string& path() const { return path_; }
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool has(const std::string& key) const { return tensors_.count(key) != 0; }
  const TensorInfo& info(const std::string& key) const;  // throws naming path and key
  const uint8_t* data(const std::string& key) const;     // raw bytes of one tensor
  // The tensor converted to float32 (f16 and bf16 widened exactly).
  std::vector<float> to_f32(const std::string& key) const;

 private:
  std::string path_;
  std::vector<uint8_t> bytes_;
  uint64_t data_start_ = 0;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const float* values = nullptr;  // numel() float32 values; converted to dtype on write (round to nearest even)
};

// Writes tensors sorted by name, header padded with spaces to a multiple of 8, optional
// __metadata__ (string to string). Atomic: writes path + ".tmp-XXXX", fsyncs, renames. On any failure
// (e.g. disk full) throws lorat::Error and leaves an existing file at path untouched.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Half-precision conversions used by reader and writer.
float f16_to_f32(uint16_t h);
float bf16_to_f32(uint16_t b);
uint16_t f32_to_f16(float f);
uint16_t f32_to_bf16(float f);

}  // namespace lorat
