#include "safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "error.h"
#include "file_io.h"

namespace lorat {

namespace {

using json = nlohmann::json;

// A header this big is not a tensor index; refuse before copying it anywhere.
constexpr uint64_t kMaxHeader = 100u * 1000 * 1000;

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw Error(path + ": " + what); }

// Keys and dtypes come from the file; control characters would break the one-line message.
std::string printable(std::string text) {
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return text;
}

[[noreturn]] void fail_tensor(const std::string& path, const std::string& key, const std::string& what) {
  throw Error(path + ": tensor '" + printable(key) + "': " + what);
}

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Explicit little-endian access so the format does not depend on the host byte order.
uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

uint32_t load_le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

uint16_t load_le16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }

bool parse_dtype(const std::string& name, DType* out) {
  for (DType d : {DType::F32, DType::F16, DType::BF16}) {
    if (name == dtype_name(d)) {
      *out = d;
      return true;
    }
  }
  return false;
}

// One header entry: dtype, shape and offsets, checked against the data section size.
TensorInfo parse_entry(const json& entry, uint64_t data_size, const std::string& path, const std::string& key) {
  if (!entry.is_object()) fail_tensor(path, key, "entry is not a JSON object");
  TensorInfo info;

  auto dtype = entry.find("dtype");
  if (dtype == entry.end() || !dtype->is_string()) fail_tensor(path, key, "missing dtype");
  if (!parse_dtype(dtype->get<std::string>(), &info.dtype))
    fail_tensor(path, key,
                "unsupported dtype '" + printable(dtype->get<std::string>()) + "' (expected F32, F16 or BF16)");

  auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array()) fail_tensor(path, key, "missing shape");
  // Count elements with overflow checks: a hostile shape must not wrap around to a small size.
  uint64_t numel = 1;
  for (const json& dim : *shape) {
    if (!dim.is_number_unsigned()) fail_tensor(path, key, "shape must hold non-negative integers");
    uint64_t d = dim.get<uint64_t>();
    if (d > uint64_t(std::numeric_limits<int64_t>::max())) fail_tensor(path, key, "shape is too large");
    if (d != 0 && numel > uint64_t(std::numeric_limits<int64_t>::max()) / d)
      fail_tensor(path, key, "shape is too large");
    numel *= d;
    info.shape.push_back(int64_t(d));
  }

  auto offsets = entry.find("data_offsets");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned())
    fail_tensor(path, key, "data_offsets must be two non-negative integers");
  info.begin = (*offsets)[0].get<uint64_t>();
  info.end = (*offsets)[1].get<uint64_t>();
  if (info.begin > info.end)
    fail_tensor(path, key, "data_offsets [" + std::to_string(info.begin) + ", " + std::to_string(info.end) +
                               "] end before they begin");
  if (info.end > data_size)
    fail_tensor(path, key, "data_offsets end " + std::to_string(info.end) + " is past the end of the data (" +
                               std::to_string(data_size) + " bytes)");
  uint64_t size = info.end - info.begin;
  uint64_t elem = dtype_size(info.dtype);
  if (size % elem != 0 || size / elem != numel)
    fail_tensor(path, key, "data_offsets hold " + std::to_string(size) + " bytes but the shape needs " +
                               std::to_string(numel) + " x " + std::to_string(elem) + " bytes");
  return info;
}

std::map<std::string, std::string> parse_metadata(const json& value, const std::string& path) {
  if (!value.is_object()) fail(path, "__metadata__ is not a JSON object");
  std::map<std::string, std::string> out;
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (!it->is_string()) fail(path, "__metadata__ '" + printable(it.key()) + "' is not a string");
    out[it.key()] = it->get<std::string>();
  }
  return out;
}

// Every byte of the data section belongs to exactly one tensor: no overlaps, gaps or trailing bytes.
void check_layout(const std::map<std::string, TensorInfo>& tensors, uint64_t data_size, const std::string& path) {
  std::vector<std::pair<const std::string*, const TensorInfo*>> order;
  for (const auto& [key, info] : tensors) order.push_back({&key, &info});
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.second->begin != b.second->begin ? a.second->begin < b.second->begin : a.second->end < b.second->end;
  });
  uint64_t pos = 0;
  const std::string* previous = nullptr;
  for (const auto& [key, info] : order) {
    if (info->begin < pos)
      fail_tensor(path, *key, "data_offsets [" + std::to_string(info->begin) + ", " + std::to_string(info->end) +
                                  "] overlap tensor '" + *previous + "'");
    if (info->begin > pos)
      fail_tensor(path, *key, "gap of " + std::to_string(info->begin - pos) + " bytes before its data");
    pos = info->end;
    previous = key;
  }
  if (pos != data_size) fail(path, std::to_string(data_size - pos) + " bytes of data after the last tensor");
}

// Reads a whole regular file; messages carry strerror so "No such file or directory" reaches the user.
std::vector<uint8_t> read_all(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::string("cannot open (") + std::strerror(errno) + ")");
  struct stat st;
  int err = 0;
  if (::fstat(fd, &st) != 0)
    err = errno;
  else if (S_ISDIR(st.st_mode))
    err = EISDIR;
  else if (!S_ISREG(st.st_mode))
    err = EINVAL;
  std::vector<uint8_t> bytes(err == 0 ? size_t(st.st_size) : 0);
  size_t done = 0;
  while (err == 0 && done < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) err = n < 0 ? errno : EIO;  // EIO: the file shrank while we read it
    else done += size_t(n);
  }
  ::close(fd);
  if (err != 0) fail(path, std::string("cannot read (") + std::strerror(err) + ")");
  return bytes;
}

// The tensor's bytes in the file's dtype, little-endian.
std::vector<uint8_t> encode(const TensorToWrite& t, uint64_t numel) {
  size_t elem = dtype_size(t.dtype);
  std::vector<uint8_t> out(size_t(numel) * elem);
  for (uint64_t i = 0; i < numel; ++i) {
    uint8_t* p = out.data() + i * elem;
    uint32_t v = t.dtype == DType::F32    ? float_bits(t.values[i])
                 : t.dtype == DType::F16 ? f32_to_f16(t.values[i])
                                         : f32_to_bf16(t.values[i]);
    for (size_t b = 0; b < elem; ++b) p[b] = uint8_t(v >> (8 * b));
  }
  return out;
}

std::string temp_name(const std::string& path) {
  std::random_device rd;
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "%ld-%08x", long(::getpid()), unsigned(rd()));
  return path + ".tmp-" + suffix;
}

}  // namespace

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
  }
  return "?";
}

size_t dtype_size(DType dtype) { return dtype == DType::F32 ? 4 : 2; }

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsFile SafetensorsFile::read(const std::string& path) { return parse(read_all(path), path); }

SafetensorsFile SafetensorsFile::parse(std::vector<uint8_t> bytes, const std::string& path) {
  const uint64_t file_size = bytes.size();
  if (file_size < 8)
    fail(path, "too short for a safetensors file (" + std::to_string(file_size) + " bytes, need at least 8)");
  const uint64_t header_size = load_le64(bytes.data());
  if (header_size > file_size - 8)
    fail(path, "header length " + std::to_string(header_size) + " is past the end of the file (" +
                   std::to_string(file_size) + " bytes)");
  if (header_size > kMaxHeader)
    fail(path, "header length " + std::to_string(header_size) + " is over the limit of " +
                   std::to_string(kMaxHeader) + " bytes");

  const char* text = reinterpret_cast<const char*>(bytes.data() + 8);
  json header;
  try {
    header = json::parse(text, text + header_size);
  } catch (const json::parse_error& e) {
    fail(path, "header is not valid JSON (error at byte " + std::to_string(e.byte) + ")");
  } catch (const json::exception&) {  // e.g. a number like 1e400 that overflows a double
    fail(path, "header is not valid JSON (number out of range)");
  }
  if (!header.is_object()) fail(path, "header is not a JSON object");

  SafetensorsFile file;
  file.path_ = path;
  file.data_start_ = 8 + header_size;
  const uint64_t data_size = file_size - file.data_start_;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__")
      file.metadata_ = parse_metadata(*it, path);
    else
      file.tensors_[it.key()] = parse_entry(*it, data_size, path, it.key());
  }
  check_layout(file.tensors_, data_size, path);
  file.bytes_ = std::move(bytes);
  return file;
}

const TensorInfo& SafetensorsFile::info(const std::string& key) const {
  auto it = tensors_.find(key);
  if (it == tensors_.end()) fail_tensor(path_, key, "not in the file");
  return it->second;
}

const uint8_t* SafetensorsFile::data(const std::string& key) const {
  return bytes_.data() + data_start_ + info(key).begin;
}

std::vector<float> SafetensorsFile::to_f32(const std::string& key) const {
  const TensorInfo& t = info(key);
  const uint8_t* p = data(key);
  const size_t n = size_t(t.numel());
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DType::F32: out[i] = bits_float(load_le32(p + 4 * i)); break;
      case DType::F16: out[i] = f16_to_f32(load_le16(p + 2 * i)); break;
      case DType::BF16: out[i] = bf16_to_f32(load_le16(p + 2 * i)); break;
    }
  }
  return out;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // Sorted by name; a std::map-backed json object also sorts the header keys.
  std::vector<const TensorToWrite*> order;
  for (const TensorToWrite& t : tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) { return a->name < b->name; });

  json header = json::object();
  std::vector<uint64_t> counts;
  uint64_t offset = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const TensorToWrite& t = *order[i];
    if (t.name == "__metadata__") fail_tensor(path, t.name, "name is reserved");
    if (i > 0 && order[i - 1]->name == t.name) fail_tensor(path, t.name, "given twice");
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0) fail_tensor(path, t.name, "negative dimension in shape");
      numel *= uint64_t(d);
    }
    if (numel > 0 && t.values == nullptr) fail_tensor(path, t.name, "no values given");
    uint64_t size = numel * dtype_size(t.dtype);
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + size}}};
    offset += size;
    counts.push_back(numel);
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;

  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
  uint8_t length[8];
  for (int b = 0; b < 8; ++b) length[b] = uint8_t(uint64_t(text.size()) >> (8 * b));

  // Write beside the target and rename, so readers never see a half-written file.
  const std::string temp = temp_name(path);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, std::string("cannot write (") + std::strerror(errno) + ")");
  bool ok = write_all(fd, length, 8) && write_all(fd, text.data(), text.size());
  for (size_t i = 0; ok && i < order.size(); ++i) {
    std::vector<uint8_t> data = encode(*order[i], counts[i]);
    ok = write_all(fd, data.data(), data.size());
  }
  ok = ok && ::fsync(fd) == 0;
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && ::rename(temp.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(temp.c_str());
    fail(path, std::string("cannot write (") + std::strerror(err) + ")");
  }
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24, exact in float32.
    float v = std::ldexp(float(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return bits_float(sign | 0x7f800000u | (mant << 13));  // inf, nan (payload kept)
  return bits_float(sign | ((exp + 112) << 23) | (mant << 13));
}

float bf16_to_f32(uint16_t b) { return bits_float(uint32_t(b) << 16); }

uint16_t f32_to_f16(float f) {
  uint32_t x = float_bits(f);
  uint16_t sign = uint16_t((x >> 16) & 0x8000);
  uint32_t a = x & 0x7fffffff;
  if (a > 0x7f800000) return uint16_t(sign | 0x7e00 | ((a >> 13) & 0x3ff));  // nan stays a (quiet) nan
  if (a >= 0x477ff000) return uint16_t(sign | 0x7c00);  // >= 65520 (and inf) rounds to inf
  if (a >= 0x38800000) {
    // Normal half: rebias the exponent, drop 13 mantissa bits, round to nearest even (a carry
    // into the exponent is still the right answer).
    uint32_t h = ((a >> 23) - 112) << 10 | ((a >> 13) & 0x3ff);
    uint32_t rest = a & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;
    return uint16_t(sign | h);
  }
  if (a <= 0x33000000) return sign;  // <= 2^-25: halfway or less rounds to zero (even)
  // Subnormal half: value in units of 2^-24 is mant * 2^(e - 126), with e - 126 < -13.
  uint32_t mant = (a & 0x7fffff) | 0x800000;
  uint32_t shift = 126 - (a >> 23);
  uint32_t h = mant >> shift;
  uint32_t rest = mant & ((1u << shift) - 1);
  uint32_t half = 1u << (shift - 1);
  if (rest > half || (rest == half && (h & 1))) ++h;
  return uint16_t(sign | h);
}

uint16_t f32_to_bf16(float f) {
  uint32_t x = float_bits(f);
  if ((x & 0x7fffffff) > 0x7f800000) return uint16_t((x >> 16) | 0x40);  // quiet nan, sign kept
  x += 0x7fff + ((x >> 16) & 1);                                        // round to nearest even
  return uint16_t(x >> 16);
}

}  // namespace lorat
