// The safetensors reader and writer: round trips, the exact file layout, atomic writes, and one
// test per kind of broken file (each must give a one-line error naming the file and tensor).
#include "lorat/safetensors.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "lorat/error.h"
#include "test_util.h"

namespace fs = std::filesystem;
using lorat::DType;
using lorat::SafetensorsFile;
using lorat::TensorToWrite;

namespace {

std::string temp_path(const std::string& name) { return lorat_test::temp_dir() + "/" + name; }

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// A file by hand: the given header length (by default the real one), the JSON, data_size zero bytes.
std::vector<uint8_t> raw_file(const std::string& header, size_t data_size, uint64_t length) {
  std::vector<uint8_t> bytes(8);
  for (int i = 0; i < 8; ++i) bytes[i] = uint8_t(length >> (8 * i));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.resize(bytes.size() + data_size, 0);
  return bytes;
}

std::vector<uint8_t> raw_file(const std::string& header, size_t data_size) {
  return raw_file(header, data_size, header.size());
}

// The lorat::Error message of read(path), or "" when it did not throw.
std::string read_error(const std::string& path) {
  try {
    SafetensorsFile::read(path);
  } catch (const lorat::Error& e) {
    return e.what();
  }
  return "";
}

// Writes the bytes to a fresh file and returns the error of reading it.
std::string error_for(const std::string& name, const std::vector<uint8_t>& bytes) {
  std::string path = temp_path(name);
  write_bytes(path, bytes);
  return read_error(path);
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

void expect_one_line(const std::string& message) {
  EXPECT_FALSE(message.empty());
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

std::vector<std::string> temp_files_in(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) found.push_back(entry.path().string());
  return found;
}

std::vector<float> ramp(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = float((double(i) - n / 2.0) * 0.37 * std::pow(1.7, double(i % 13) - 6));
  return v;
}

uint16_t f16_bits(float f) { return lorat::f32_to_f16(f); }

}  // namespace

TEST(Safetensors, RoundTrip) {
  std::vector<float> a = ramp(6), b = ramp(40), c = {3.25f};
  std::vector<float> d = ramp(12);
  std::string path = temp_path("round_trip.safetensors");
  lorat::write_safetensors(path,
                           {{"weights.a", DType::F32, {2, 3}, a.data()},
                            {"half.b", DType::F16, {4, 2, 5}, b.data()},
                            {"scalar", DType::F32, {}, c.data()},
                            {"brain.d", DType::BF16, {12}, d.data()},
                            {"empty", DType::F16, {0, 7}, nullptr}},
                           {{"format", "pt"}, {"note", "LoRAT test"}});

  SafetensorsFile file = SafetensorsFile::read(path);
  EXPECT_EQ(file.path(), path);
  ASSERT_EQ(file.tensors().size(), 5u);
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{{"format", "pt"}, {"note", "LoRAT test"}}));

  EXPECT_EQ(file.info("weights.a").dtype, DType::F32);
  EXPECT_EQ(file.info("weights.a").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(file.to_f32("weights.a"), a);

  EXPECT_EQ(file.info("half.b").dtype, DType::F16);
  EXPECT_EQ(file.info("half.b").shape, (std::vector<int64_t>{4, 2, 5}));
  std::vector<float> got_b = file.to_f32("half.b");
  ASSERT_EQ(got_b.size(), b.size());
  for (size_t i = 0; i < b.size(); ++i) EXPECT_NEAR(got_b[i], b[i], std::abs(b[i]) * 0x1p-11 + 0x1p-24) << i;

  EXPECT_EQ(file.info("scalar").shape, std::vector<int64_t>{});
  EXPECT_EQ(file.info("scalar").numel(), 1);
  EXPECT_EQ(file.to_f32("scalar"), c);

  EXPECT_EQ(file.info("brain.d").dtype, DType::BF16);
  std::vector<float> got_d = file.to_f32("brain.d");
  ASSERT_EQ(got_d.size(), d.size());
  for (size_t i = 0; i < d.size(); ++i) EXPECT_NEAR(got_d[i], d[i], std::abs(d[i]) * 0x1p-8) << i;

  EXPECT_EQ(file.info("empty").numel(), 0);
  EXPECT_TRUE(file.to_f32("empty").empty());
  EXPECT_TRUE(file.has("empty"));
  EXPECT_FALSE(file.has("missing"));

  // Raw bytes: f32 data is stored verbatim, little-endian.
  float first;
  std::memcpy(&first, file.data("weights.a"), 4);
  EXPECT_EQ(first, a[0]);
}

TEST(Safetensors, MissingKeyNamesPathAndKey) {
  std::vector<float> a = {1, 2};
  std::string path = temp_path("missing_key.safetensors");
  lorat::write_safetensors(path, {{"a", DType::F32, {2}, a.data()}});
  SafetensorsFile file = SafetensorsFile::read(path);
  try {
    file.info("nope");
    FAIL() << "no exception";
  } catch (const lorat::Error& e) {
    EXPECT_CONTAINS(e.what(), path);
    EXPECT_CONTAINS(e.what(), "'nope'");
  }
  EXPECT_THROW(file.to_f32("nope"), lorat::Error);
}

TEST(Safetensors, SortedKeysPaddingAndContiguousOffsets) {
  std::vector<float> v = ramp(10);
  std::string path = temp_path("layout.safetensors");
  lorat::write_safetensors(path,
                           {{"zeta", DType::F32, {3}, v.data()},
                            {"alpha", DType::F16, {5}, v.data()},
                            {"Mid", DType::BF16, {1}, v.data()}},
                           {{"k", "v"}});
  std::vector<uint8_t> bytes = read_bytes(path);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  EXPECT_EQ(n % 8, 0u);
  ASSERT_LE(8 + n, bytes.size());
  std::string header(bytes.begin() + 8, bytes.begin() + 8 + long(n));
  // Padding is spaces after the closing brace.
  size_t close = header.find_last_of('}');
  ASSERT_NE(close, std::string::npos);
  EXPECT_EQ(header.find_first_not_of(' ', close + 1), std::string::npos);
  EXPECT_LT(header.size() - close - 1, 8u);

  size_t mid = header.find("\"Mid\""), alpha = header.find("\"alpha\""), zeta = header.find("\"zeta\"");
  size_t meta = header.find("\"__metadata__\"");
  ASSERT_NE(mid, std::string::npos);
  ASSERT_NE(alpha, std::string::npos);
  ASSERT_NE(zeta, std::string::npos);
  ASSERT_NE(meta, std::string::npos);
  EXPECT_LT(mid, meta);
  EXPECT_LT(meta, alpha);
  EXPECT_LT(alpha, zeta);

  SafetensorsFile file = SafetensorsFile::read(path);
  EXPECT_EQ(file.info("Mid").begin, 0u);
  EXPECT_EQ(file.info("Mid").end, 2u);
  EXPECT_EQ(file.info("alpha").begin, 2u);
  EXPECT_EQ(file.info("alpha").end, 12u);
  EXPECT_EQ(file.info("zeta").begin, 12u);
  EXPECT_EQ(file.info("zeta").end, 24u);
  EXPECT_EQ(bytes.size(), 8 + n + 24);
}

TEST(Safetensors, HalfConversions) {
  EXPECT_EQ(f16_bits(1.0f), 0x3c00);
  EXPECT_EQ(f16_bits(-2.0f), 0xc000);
  EXPECT_EQ(f16_bits(0.1f), 0x2e66);
  EXPECT_EQ(f16_bits(-0.0f), 0x8000);
  EXPECT_EQ(f16_bits(65504.0f), 0x7bff);
  EXPECT_EQ(f16_bits(65519.0f), 0x7bff);
  EXPECT_EQ(f16_bits(65520.0f), 0x7c00);  // halfway to 65536: rounds to even, which is inf
  EXPECT_EQ(f16_bits(1e10f), 0x7c00);
  EXPECT_EQ(f16_bits(INFINITY), 0x7c00);
  EXPECT_EQ(f16_bits(-INFINITY), 0xfc00);
  EXPECT_EQ(f16_bits(1.0f + 0x1p-11f), 0x3c00);        // tie, to even
  EXPECT_EQ(f16_bits(1.0f + 3 * 0x1p-11f), 0x3c02);    // tie, to even (up)
  EXPECT_EQ(f16_bits(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);
  EXPECT_EQ(f16_bits(0x1p-14f), 0x0400);               // smallest normal
  EXPECT_EQ(f16_bits(0x1p-24f), 0x0001);               // smallest subnormal
  EXPECT_EQ(f16_bits(0x1p-25f), 0x0000);               // tie, to even (zero)
  EXPECT_EQ(f16_bits(1.5f * 0x1p-25f), 0x0001);
  EXPECT_EQ(f16_bits(3 * 0x1p-25f), 0x0002);           // tie between 1 and 2 units
  EXPECT_EQ(f16_bits(0x1p-14f - 0x1p-25f), 0x0400);    // rounds up into the normals
  EXPECT_EQ(f16_bits(1e-30f), 0x0000);
  EXPECT_TRUE(std::isnan(lorat::f16_to_f32(f16_bits(NAN))));
  EXPECT_EQ(lorat::f16_to_f32(0x0001), 0x1p-24f);
  EXPECT_EQ(lorat::f16_to_f32(0x8001), -0x1p-24f);
  EXPECT_EQ(lorat::f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(lorat::f16_to_f32(0xfc00), -INFINITY);

  EXPECT_EQ(lorat::f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(lorat::f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);      // tie, to even
  EXPECT_EQ(lorat::f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);  // tie, to even (up)
  EXPECT_EQ(lorat::f32_to_bf16(INFINITY), 0x7f80);
  EXPECT_EQ(lorat::f32_to_bf16(-INFINITY), 0xff80);
  EXPECT_EQ(lorat::f32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(lorat::f32_to_bf16(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_TRUE(std::isnan(lorat::bf16_to_f32(lorat::f32_to_bf16(NAN))));
  EXPECT_TRUE(std::isnan(lorat::bf16_to_f32(lorat::f32_to_bf16(-NAN))));

  // Every non-NaN half and bf16 value survives widening and narrowing unchanged.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f16 = lorat::f16_to_f32(uint16_t(h));
    if (!std::isnan(f16)) {
      ASSERT_EQ(lorat::f32_to_f16(f16), h) << std::hex << h;
    }
    float bf = lorat::bf16_to_f32(uint16_t(h));
    if (!std::isnan(bf)) {
      ASSERT_EQ(lorat::f32_to_bf16(bf), h) << std::hex << h;
    }
  }
}

TEST(Safetensors, FailedWriteKeepsOldFile) {
  std::vector<float> small = {1, 2, 3}, big(100000, 0.5f);
  std::string dir = temp_path("atomic");
  fs::create_directories(dir);
  std::string path = dir + "/model.safetensors";
  lorat::write_safetensors(path, {{"old", DType::F32, {3}, small.data()}});
  std::vector<uint8_t> before = read_bytes(path);

  // A file size limit makes write(2) fail part way (EFBIG), even for root.
  struct rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limited = saved;
  limited.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
  std::string message;
  try {
    lorat::write_safetensors(path, {{"new", DType::F32, {100000}, big.data()}});
  } catch (const lorat::Error& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);

  EXPECT_CONTAINS(message, path + ": cannot write (");
  expect_one_line(message);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_TRUE(SafetensorsFile::read(path).has("old"));
  EXPECT_TRUE(temp_files_in(dir).empty());
}

TEST(Safetensors, WriteOntoDirectoryFails) {
  std::vector<float> v = {1};
  std::string dir = temp_path("atomic_dir");
  std::string target = dir + "/is_a_directory";
  fs::create_directories(target);
  fs::create_directories(target + "/inside");
  try {
    lorat::write_safetensors(target, {{"x", DType::F32, {1}, v.data()}});
    FAIL() << "no exception";
  } catch (const lorat::Error& e) {
    EXPECT_CONTAINS(e.what(), target + ": cannot write (");
    expect_one_line(e.what());
  }
  EXPECT_TRUE(fs::is_directory(target + "/inside"));
  EXPECT_TRUE(temp_files_in(dir).empty());
}

TEST(Safetensors, WriteIntoMissingFolderFails) {
  std::vector<float> v = {1};
  std::string missing = temp_path("no_such_dir/model.safetensors");
  try {
    lorat::write_safetensors(missing, {{"x", DType::F32, {1}, v.data()}});
    FAIL() << "no exception";
  } catch (const lorat::Error& e) {
    EXPECT_EQ(std::string(e.what()), missing + ": cannot write (No such file or directory)");
  }
}

TEST(Safetensors, WriteIntoReadOnlyFolderFails) {
  std::vector<float> v = {1};
  if (geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  std::string dir = temp_path("read_only");
  fs::create_directories(dir);
  std::string path = dir + "/model.safetensors";
  lorat::write_safetensors(path, {{"x", DType::F32, {1}, v.data()}});
  std::vector<uint8_t> before = read_bytes(path);
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec);
  std::string message;
  try {
    lorat::write_safetensors(path, {{"y", DType::F32, {1}, v.data()}});
  } catch (const lorat::Error& e) {
    message = e.what();
  }
  fs::permissions(dir, fs::perms::owner_all);
  EXPECT_CONTAINS(message, path + ": cannot write (Permission denied)");
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_TRUE(temp_files_in(dir).empty());
}

TEST(SafetensorsBad, MissingFile) {
  std::string path = temp_path("does_not_exist.safetensors");
  EXPECT_EQ(read_error(path), path + ": cannot open (No such file or directory)");
}

TEST(SafetensorsBad, Directory) {
  std::string message = read_error(lorat_test::temp_dir());
  EXPECT_CONTAINS(message, lorat_test::temp_dir() + ": cannot read (Is a directory)");
}

TEST(SafetensorsBad, TooShort) {
  std::string message = error_for("short.safetensors", {1, 0, 0});
  EXPECT_CONTAINS(message, temp_path("short.safetensors") + ": ");
  EXPECT_CONTAINS(message, "3 bytes");
  expect_one_line(message);
}

TEST(SafetensorsBad, Truncated) {
  std::vector<float> v = ramp(64);
  std::string good = temp_path("truncate_me.safetensors");
  lorat::write_safetensors(good, {{"a.weight", DType::F32, {16}, v.data()}, {"b.weight", DType::F32, {48}, v.data()}});
  std::vector<uint8_t> bytes = read_bytes(good);

  // Cut inside the data: the last tensor now ends past the end of the data.
  std::vector<uint8_t> cut(bytes.begin(), bytes.end() - 10);
  std::string message = error_for("truncated_data.safetensors", cut);
  EXPECT_CONTAINS(message, temp_path("truncated_data.safetensors") + ": tensor 'b.weight': ");
  EXPECT_CONTAINS(message, "past the end");
  expect_one_line(message);

  // Cut inside the header.
  cut.assign(bytes.begin(), bytes.begin() + 40);
  message = error_for("truncated_header.safetensors", cut);
  EXPECT_CONTAINS(message, temp_path("truncated_header.safetensors") + ": header length ");
  EXPECT_CONTAINS(message, "is past the end of the file (40 bytes)");
}

TEST(SafetensorsBad, HeaderLengthPastTheEnd) {
  std::vector<uint8_t> bytes = raw_file("{}", 0, 999999);
  std::string message = error_for("long_header.safetensors", bytes);
  EXPECT_EQ(message, temp_path("long_header.safetensors") +
                         ": header length 999999 is past the end of the file (10 bytes)");
}

TEST(SafetensorsBad, HugeHeaderLengthDoesNotAllocate) {
  // Lengths near 2^64 must neither wrap around in the bounds check nor reach an allocation.
  for (uint64_t length : {~uint64_t(0), ~uint64_t(0) - 7, uint64_t(1) << 62}) {
    std::vector<uint8_t> bytes = raw_file("{}", 0, length);
    try {
      SafetensorsFile::parse(bytes, "huge.safetensors");
      FAIL() << "no exception for " << length;
    } catch (const lorat::Error& e) {
      EXPECT_EQ(std::string(e.what()), "huge.safetensors: header length " + std::to_string(length) +
                                           " is past the end of the file (10 bytes)");
    }
  }
}

TEST(SafetensorsBad, OffsetsOutOfRange) {
  std::string message = error_for("range.safetensors",
                                  raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4));
  EXPECT_CONTAINS(message, temp_path("range.safetensors") + ": tensor 'w': ");
  EXPECT_CONTAINS(message, "past the end of the data (4 bytes)");
  expect_one_line(message);

  message = error_for("backwards.safetensors",
                      raw_file(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", 8));
  EXPECT_CONTAINS(message, temp_path("backwards.safetensors") + ": tensor 'w': ");

  message = error_for("negative.safetensors",
                      raw_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 8));
  EXPECT_CONTAINS(message, temp_path("negative.safetensors") + ": tensor 'w': data_offsets");
}

TEST(SafetensorsBad, OverlappingOffsets) {
  std::string header =
      R"({"first":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("second":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  std::string message = error_for("overlap.safetensors", raw_file(header, 12));
  EXPECT_CONTAINS(message, temp_path("overlap.safetensors") + ": tensor 'second': ");
  EXPECT_CONTAINS(message, "overlap");
  EXPECT_CONTAINS(message, "'first'");
  expect_one_line(message);
}

TEST(SafetensorsBad, GapsAndTrailingBytes) {
  std::string gap = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  std::string message = error_for("gap.safetensors", raw_file(gap, 8));
  EXPECT_CONTAINS(message, temp_path("gap.safetensors") + ": tensor 'a': gap");

  std::string trailing = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  message = error_for("trailing.safetensors", raw_file(trailing, 12));
  EXPECT_CONTAINS(message, temp_path("trailing.safetensors") + ": 8 bytes of data after the last tensor");
}

TEST(SafetensorsBad, UnknownDtype) {
  for (std::string dtype : {"I64", "F64", "U8", "f32"}) {
    std::string header = R"({"ids":{"dtype":")" + dtype + R"(","shape":[1],"data_offsets":[0,8]}})";
    std::string message = error_for("dtype.safetensors", raw_file(header, 8));
    EXPECT_CONTAINS(message, temp_path("dtype.safetensors") + ": tensor 'ids': unsupported dtype '" + dtype + "'");
    expect_one_line(message);
  }
  // A key with a newline still gives a one-line message.
  std::string message = error_for("newline.safetensors",
                                   raw_file(R"({"a\nb":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}})", 1));
  EXPECT_CONTAINS(message, temp_path("newline.safetensors") + ": tensor 'a?b': unsupported dtype 'I8'");
  expect_one_line(message);

  message = error_for("no_dtype.safetensors", raw_file(R"({"x":{"shape":[1],"data_offsets":[0,4]}})", 4));
  EXPECT_CONTAINS(message, temp_path("no_dtype.safetensors") + ": tensor 'x': missing dtype");
}

TEST(SafetensorsBad, ShapeOffsetMismatch) {
  std::string message = error_for("mismatch.safetensors",
                                  raw_file(R"({"m":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8));
  EXPECT_CONTAINS(message, temp_path("mismatch.safetensors") + ": tensor 'm': ");
  EXPECT_CONTAINS(message, "shape");
  expect_one_line(message);

  // Half types: 3 elements are 6 bytes, not 12.
  message = error_for("mismatch16.safetensors",
                      raw_file(R"({"h":{"dtype":"BF16","shape":[3],"data_offsets":[0,12]}})", 12));
  EXPECT_CONTAINS(message, temp_path("mismatch16.safetensors") + ": tensor 'h': ");

  message = error_for("neg_shape.safetensors",
                      raw_file(R"({"n":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4));
  EXPECT_CONTAINS(message, temp_path("neg_shape.safetensors") + ": tensor 'n': shape");

  message = error_for("float_shape.safetensors",
                      raw_file(R"({"n":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4));
  EXPECT_CONTAINS(message, temp_path("float_shape.safetensors") + ": tensor 'n': shape");

  // A product that overflows 64 bits must not wrap around to match the offsets.
  message = error_for("overflow.safetensors",
                      raw_file(R"({"o":{"dtype":"F32","shape":[4294967296,4294967296,1],"data_offsets":[0,0]}})", 0));
  EXPECT_CONTAINS(message, temp_path("overflow.safetensors") + ": tensor 'o': shape is too large");
  message = error_for("overflow2.safetensors",
                      raw_file(R"({"o":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", 0));
  EXPECT_CONTAINS(message, temp_path("overflow2.safetensors") + ": tensor 'o': ");
}

TEST(SafetensorsBad, InvalidJson) {
  std::string message = error_for("json.safetensors", raw_file(R"({"a": {"dtype": "F32", )", 0));
  EXPECT_CONTAINS(message, temp_path("json.safetensors") + ": header is not valid JSON");
  expect_one_line(message);

  message = error_for("overflow.safetensors", raw_file(R"({"a": 1e400})", 0));
  EXPECT_CONTAINS(message, temp_path("overflow.safetensors") + ": header is not valid JSON");

  message = error_for("array.safetensors", raw_file("[1, 2]", 0));
  EXPECT_CONTAINS(message, temp_path("array.safetensors") + ": header is not a JSON object");

  message = error_for("entry.safetensors", raw_file(R"({"a": 5})", 0));
  EXPECT_CONTAINS(message, temp_path("entry.safetensors") + ": tensor 'a': ");

  message = error_for("meta.safetensors", raw_file(R"({"__metadata__": {"n": 5}})", 0));
  EXPECT_CONTAINS(message, temp_path("meta.safetensors") + ": __metadata__ 'n' is not a string");

  // Deep nesting must be an error, not a stack overflow.
  std::string deep(200000, '[');
  message = error_for("deep.safetensors", raw_file(deep, 0));
  EXPECT_CONTAINS(message, temp_path("deep.safetensors") + ": header is not valid JSON");
}

TEST(SafetensorsBad, EmptyHeaderIsAnEmptyFile) {
  SafetensorsFile file = SafetensorsFile::parse(raw_file("{}      ", 0), "empty.safetensors");
  EXPECT_TRUE(file.tensors().empty());
  EXPECT_TRUE(file.metadata().empty());
}

TEST(Safetensors, ReferenceCheckpoint) {
  LORAT_REQUIRE_SHARED(path, "lorat-reference/lorat.safetensors");
  SafetensorsFile file = SafetensorsFile::read(path);
  EXPECT_EQ(file.tensors().size(), 37u);
  const lorat::TensorInfo& type = file.info("token_type_embed");
  EXPECT_EQ(type.dtype, DType::F32);
  EXPECT_EQ(type.shape, (std::vector<int64_t>{3, 384}));
  EXPECT_EQ(file.to_f32("token_type_embed").size(), 3u * 384);
  const lorat::TensorInfo& lora = file.info("blocks.0.mlp.fc1.lora.B");
  EXPECT_EQ(lora.dtype, DType::F32);
  EXPECT_EQ(lora.shape, (std::vector<int64_t>{1536, 64}));
  EXPECT_TRUE(file.has("head.cls_mlp.layers.2.bias"));
  for (float v : file.to_f32("blocks.0.mlp.fc1.lora.B")) ASSERT_TRUE(std::isfinite(v));
}
