// The torch.save (.pth) reader: the committed DINOv2-layout checkpoint value by value, fixtures made
// by tests/data/make_pth_fixtures.py (dtypes, views, wrappers, protocol 4), hand-built zips and
// pickles for each kind of broken or hostile file, and randomly corrupted copies (every failure
// must be a one-line lorat::Error naming the file).
#include "lorat/pth.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <utility>

#include "lorat/error.h"
#include "test_util.h"

using lorat::PthTensor;

namespace {

using Shape = std::vector<int64_t>;
using Bytes = std::vector<uint8_t>;

std::string temp_path(const std::string& name) { return lorat_test::temp_dir() + "/" + name; }

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

// The lorat::Error message of reading path, or "" when it did not throw.
std::string read_error(const std::string& path) {
  try {
    lorat::read_pth_file(path);
  } catch (const lorat::Error& e) {
    return e.what();
  }
  return "";
}

// Writes bytes to a fresh file, reads it, and checks the error is one line that names the file.
std::string error_for(const std::string& name, const Bytes& bytes) {
  std::string path = temp_path(name);
  write_bytes(path, bytes);
  std::string message = read_error(path);
  EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  return message;
}

void put16(Bytes& b, uint32_t v) {
  for (int i = 0; i < 2; ++i) b.push_back(uint8_t(v >> (8 * i)));
}
void put32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i)));
}
void put64(Bytes& b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(uint8_t(v >> (8 * i)));
}
void put(Bytes& b, const std::string& s) { b.insert(b.end(), s.begin(), s.end()); }

struct Entry {
  std::string name;
  Bytes data;
  uint16_t method = 0;  // written as given; the data is never actually compressed
};

// A minimal zip writer (no CRCs: the reader does not check them). With zip64, every size and offset
// in the central directory goes to the 0x0001 extra field and the end record is the ZIP64 one.
Bytes make_zip(const std::vector<Entry>& entries, bool zip64 = false) {
  Bytes out, cd;
  for (const Entry& e : entries) {
    uint64_t local = out.size();
    put32(out, 0x04034b50);
    put16(out, 45);
    put16(out, 0);
    put16(out, e.method);
    put32(out, 0);  // time, date
    put32(out, 0);  // crc
    put32(out, uint32_t(e.data.size()));
    put32(out, uint32_t(e.data.size()));
    put16(out, uint32_t(e.name.size()));
    put16(out, 0);
    put(out, e.name);
    out.insert(out.end(), e.data.begin(), e.data.end());

    put32(cd, 0x02014b50);
    put16(cd, 45);
    put16(cd, 45);
    put16(cd, 0);
    put16(cd, e.method);
    put32(cd, 0);
    put32(cd, 0);
    put32(cd, zip64 ? 0xffffffffu : uint32_t(e.data.size()));
    put32(cd, zip64 ? 0xffffffffu : uint32_t(e.data.size()));
    put16(cd, uint32_t(e.name.size()));
    put16(cd, zip64 ? 28 : 0);
    put16(cd, 0);  // comment
    put16(cd, 0);  // disk
    put16(cd, 0);
    put32(cd, 0);
    put32(cd, zip64 ? 0xffffffffu : uint32_t(local));
    put(cd, e.name);
    if (zip64) {
      put16(cd, 0x0001);
      put16(cd, 24);
      put64(cd, e.data.size());
      put64(cd, e.data.size());
      put64(cd, local);
    }
  }
  uint64_t cd_offset = out.size();
  out.insert(out.end(), cd.begin(), cd.end());
  if (zip64) {
    uint64_t eocd64 = out.size();
    put32(out, 0x06064b50);
    put64(out, 44);
    put16(out, 45);
    put16(out, 45);
    put32(out, 0);
    put32(out, 0);
    put64(out, entries.size());
    put64(out, entries.size());
    put64(out, cd.size());
    put64(out, cd_offset);
    put32(out, 0x07064b50);
    put32(out, 0);
    put64(out, eocd64);
    put32(out, 1);
  }
  put32(out, 0x06054b50);
  put32(out, 0);  // disk numbers
  put16(out, zip64 ? 0xffff : uint32_t(entries.size()));
  put16(out, zip64 ? 0xffff : uint32_t(entries.size()));
  put32(out, zip64 ? 0xffffffffu : uint32_t(cd.size()));
  put32(out, zip64 ? 0xffffffffu : uint32_t(cd_offset));
  put16(out, 0);
  return out;
}

// Pickle opcodes written by hand.
struct Pickle {
  Bytes b;
  Pickle& op(uint8_t c) {
    b.push_back(c);
    return *this;
  }
  Pickle& proto() { return op(0x80).op(2); }
  Pickle& global(const std::string& module, const std::string& name) {
    op('c');
    put(b, module + "\n" + name + "\n");
    return *this;
  }
  Pickle& str(const std::string& s) {
    op('X');
    put32(b, uint32_t(s.size()));
    put(b, s);
    return *this;
  }
  Pickle& integer(int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      put32(b, uint32_t(v));
    } else {
      op(0x8a).op(8);
      put64(b, uint64_t(v));
    }
    return *this;
  }
  Pickle& ints(const Shape& values) {
    op('(');
    for (int64_t v : values) integer(v);
    return op('t');
  }
};

// {"w": _rebuild_tensor_v2(storage of storage_numel F32, offset, size, stride, False, OrderedDict())}.
Pickle tensor_pickle(int64_t storage_numel, int64_t offset, const Shape& size, const Shape& stride) {
  Pickle p;
  p.proto().op('}').op('(').str("w");
  p.global("torch._utils", "_rebuild_tensor_v2").op('(');
  p.op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(storage_numel).op('t').op('Q');
  p.integer(offset).ints(size).ints(stride).op(0x89).global("collections", "OrderedDict").op(')').op('R');
  p.op('t').op('R');
  p.op('u').op('.');
  return p;
}

// A checkpoint zip: archive/data.pkl plus archive/data/0 holding record_floats floats 0, 0.5, 1, ...
Bytes tensor_zip(const Pickle& p, size_t record_floats, bool zip64 = false, const std::string& archive = "archive") {
  Bytes record(record_floats * 4);
  for (size_t i = 0; i < record_floats; ++i) {
    float v = float(i) * 0.5f;
    std::memcpy(&record[i * 4], &v, 4);
  }
  return make_zip({{archive + "/data.pkl", p.b}, {archive + "/data/0", record}, {archive + "/version", {'3', '\n'}}},
                  zip64);
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

int64_t numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

const PthTensor& at(const std::map<std::string, PthTensor>& tensors, const std::string& key) {
  auto it = tensors.find(key);
  if (it == tensors.end()) throw std::runtime_error("missing tensor " + key);
  return it->second;
}

// Values in the fixtures: element i of ramp is i / 4 - 1.
float ramp(int64_t i) { return float(i) / 4 - 1; }

}  // namespace

TEST(Pth, TinyDinov2EveryValue) {
  std::string path = lorat_test::repo_data("tiny_dinov2.pth");
  std::vector<std::string> keys = read_lines(lorat_test::repo_data("tiny_dinov2_keys.txt"));
  ASSERT_EQ(keys.size(), 35u);
  std::map<std::string, PthTensor> tensors = lorat::read_pth_file(path);
  ASSERT_EQ(tensors.size(), 35u);
  for (size_t k = 0; k < keys.size(); ++k) {
    const PthTensor& t = at(tensors, keys[k]);
    EXPECT_EQ(t.dtype, "F32") << keys[k];
    ASSERT_EQ(int64_t(t.values.size()), numel(t.shape)) << keys[k];
    for (size_t i = 0; i < t.values.size(); ++i) {
      // As make_tiny_dinov2.py computes it: an integer in float32, divided by 500 in float32.
      float expected = float(int64_t((i * 7 + k * 13) % 101) - 50) / 500.0f;
      ASSERT_EQ(t.values[i], expected) << keys[k] << " element " << i;
    }
  }
  EXPECT_EQ(at(tensors, "cls_token").shape, (Shape{1, 1, 64}));
  EXPECT_EQ(at(tensors, "pos_embed").shape, (Shape{1, 257, 64}));
  EXPECT_EQ(at(tensors, "mask_token").shape, (Shape{1, 64}));
  EXPECT_EQ(at(tensors, "patch_embed.proj.weight").shape, (Shape{64, 3, 14, 14}));
  EXPECT_EQ(at(tensors, "blocks.0.attn.qkv.weight").shape, (Shape{192, 64}));
  EXPECT_EQ(at(tensors, "blocks.1.mlp.fc1.weight").shape, (Shape{256, 64}));
  EXPECT_EQ(at(tensors, "blocks.1.mlp.fc2.weight").shape, (Shape{64, 256}));
  EXPECT_EQ(at(tensors, "norm.bias").shape, (Shape{64}));

  // The in-memory entry point gives the same result.
  std::map<std::string, PthTensor> again = lorat::parse_pth(read_bytes(path), path);
  ASSERT_EQ(again.size(), tensors.size());
  for (const auto& kv : tensors) {
    EXPECT_EQ(at(again, kv.first).shape, kv.second.shape);
    EXPECT_EQ(at(again, kv.first).values, kv.second.values);
  }
}

TEST(Pth, ReferenceBase) {
  LORAT_REQUIRE_SHARED(path, "lorat-reference/base.pth");
  std::map<std::string, PthTensor> tensors = lorat::read_pth_file(path);
  ASSERT_EQ(tensors.size(), 35u);
  for (const std::string& key : read_lines(lorat_test::repo_data("tiny_dinov2_keys.txt"))) {
    const PthTensor& t = at(tensors, key);
    EXPECT_EQ(t.dtype, "F32");
    EXPECT_EQ(int64_t(t.values.size()), numel(t.shape)) << key;
    for (float v : t.values) ASSERT_TRUE(std::isfinite(v)) << key;
  }
  EXPECT_EQ(at(tensors, "pos_embed").shape, (Shape{1, 1370, 384}));
  EXPECT_EQ(at(tensors, "cls_token").shape, (Shape{1, 1, 384}));
  EXPECT_EQ(at(tensors, "patch_embed.proj.weight").shape, (Shape{384, 3, 14, 14}));
  EXPECT_EQ(at(tensors, "blocks.1.attn.qkv.weight").shape, (Shape{1152, 384}));
  // The first values of base/data/0, read with Python's zipfile and struct.
  const std::vector<float>& cls = at(tensors, "cls_token").values;
  EXPECT_EQ(cls[0], 0.009745266288518906f);
  EXPECT_EQ(cls[1], 0.005940765142440796f);
  EXPECT_EQ(cls[2], 0.009213024750351906f);
}

TEST(Pth, NestedDtypesAndViews) {
  std::map<std::string, PthTensor> t = lorat::read_pth_file(lorat_test::repo_data("pth_nested.pth"));
  // "count" (an int) is skipped; "epoch" and "meta" are beside the "model" wrapper.
  ASSERT_EQ(t.size(), 10u);

  EXPECT_EQ(at(t, "half").dtype, "F16");
  EXPECT_EQ(at(t, "half").shape, (Shape{2, 3}));
  EXPECT_EQ(at(t, "half").values, (std::vector<float>{-1, -0.75f, -0.5f, -0.25f, 0, 0.25f}));

  EXPECT_EQ(at(t, "bfloat").dtype, "BF16");
  EXPECT_EQ(at(t, "bfloat").shape, (Shape{5}));
  EXPECT_EQ(at(t, "bfloat").values, (std::vector<float>{-1, -0.75f, -0.5f, -0.25f, 0}));

  EXPECT_EQ(at(t, "double").dtype, "F64");
  EXPECT_EQ(at(t, "double").values, (std::vector<float>{0, float(1.0 / 3), float(2.0 / 3), 1}));

  EXPECT_EQ(at(t, "param").dtype, "F32");
  EXPECT_EQ(at(t, "param").values, (std::vector<float>{-1, -0.75f, -0.5f}));

  // grid is 4 x 6 with element (r, c) = ramp(6r + c); transposed is 6 x 4.
  const PthTensor& tr = at(t, "transposed");
  EXPECT_EQ(tr.shape, (Shape{6, 4}));
  ASSERT_EQ(tr.values.size(), 24u);
  for (int c = 0; c < 6; ++c)
    for (int r = 0; r < 4; ++r) EXPECT_EQ(tr.values[c * 4 + r], ramp(6 * r + c)) << c << "," << r;

  const PthTensor& sl = at(t, "slice");  // grid[1:3, 2:5]
  EXPECT_EQ(sl.shape, (Shape{2, 3}));
  EXPECT_EQ(sl.values, (std::vector<float>{ramp(8), ramp(9), ramp(10), ramp(14), ramp(15), ramp(16)}));

  const PthTensor& row = at(t, "row");  // grid[2]
  EXPECT_EQ(row.shape, (Shape{6}));
  EXPECT_EQ(row.values, (std::vector<float>{ramp(12), ramp(13), ramp(14), ramp(15), ramp(16), ramp(17)}));

  const PthTensor& ex = at(t, "expanded");  // stride 0 on the first dimension
  EXPECT_EQ(ex.shape, (Shape{2, 3}));
  EXPECT_EQ(ex.values, (std::vector<float>{-1, -0.75f, -0.5f, -1, -0.75f, -0.5f}));

  EXPECT_EQ(at(t, "scalar").shape, Shape{});
  EXPECT_EQ(at(t, "scalar").values, std::vector<float>{2.5f});

  EXPECT_EQ(at(t, "empty").shape, (Shape{0, 3}));
  EXPECT_TRUE(at(t, "empty").values.empty());
  EXPECT_EQ(t.count("count"), 0u);
}

TEST(Pth, ModuleStateDictWithMetadata) {
  std::map<std::string, PthTensor> t = lorat::read_pth_file(lorat_test::repo_data("pth_state_dict.pth"));
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(at(t, "weight").shape, (Shape{2, 3}));
  EXPECT_EQ(at(t, "weight").values, (std::vector<float>{-1, -0.75f, -0.5f, -0.25f, 0, 0.25f}));
  EXPECT_EQ(at(t, "bias").values, (std::vector<float>{0.5f, -0.5f}));
}

TEST(Pth, PickleProtocol4) {
  std::map<std::string, PthTensor> t = lorat::read_pth_file(lorat_test::repo_data("pth_protocol4.pth"));
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(at(t, "a").shape, (Shape{2, 2}));
  EXPECT_EQ(at(t, "a").values, (std::vector<float>{-1, -0.75f, -0.5f, -0.25f}));
  EXPECT_EQ(at(t, "b").dtype, "F16");
  EXPECT_EQ(at(t, "b").values, (std::vector<float>{-1, -0.75f, -0.5f}));
}

TEST(Pth, HandBuiltZipAndZip64) {
  for (bool zip64 : {false, true}) {
    std::string path = temp_path(zip64 ? "hand64.pth" : "hand.pth");
    // A 2 x 3 view at offset 1 with strides (1, 2) over a storage of 8 floats 0, 0.5, 1, ...
    write_bytes(path, tensor_zip(tensor_pickle(8, 1, {2, 3}, {1, 2}), 8, zip64, "any name"));
    std::map<std::string, PthTensor> t = lorat::read_pth_file(path);
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(at(t, "w").shape, (Shape{2, 3}));
    EXPECT_EQ(at(t, "w").values, (std::vector<float>{0.5f, 1.5f, 2.5f, 1, 2, 3})) << zip64;
  }
}

TEST(Pth, MissingFile) {
  std::string path = temp_path("does_not_exist.pth");
  std::string message = read_error(path);
  EXPECT_CONTAINS(message, path + ": cannot open");
  EXPECT_CONTAINS(read_error(lorat_test::temp_dir()), lorat_test::temp_dir() + ": is not a regular file");
}

TEST(Pth, NotAZip) {
  std::string message = error_for("not_a_zip.pth", Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
  EXPECT_CONTAINS(message, "not a zip archive");
  EXPECT_CONTAINS(error_for("empty.pth", {}), "empty");
  // The pre-1.6 format starts with a pickle, not a zip header.
  EXPECT_CONTAINS(error_for("legacy.pth", Bytes{0x80, 0x02, 0x8a, 0x0a, 'l', 'e', 'g', 'a', 'c', 'y'}), "legacy");
}

TEST(Pth, Truncated) {
  Bytes bytes = read_bytes(lorat_test::repo_data("tiny_dinov2.pth"));
  ASSERT_FALSE(bytes.empty());
  bytes.resize(bytes.size() / 2);
  EXPECT_CONTAINS(error_for("truncated.pth", bytes), "not a zip archive");
  // Cut inside the central directory: the end record is gone as well.
  Bytes full = read_bytes(lorat_test::repo_data("tiny_dinov2.pth"));
  full.resize(full.size() - 30);
  EXPECT_FALSE(error_for("truncated_end.pth", full).empty());
}

TEST(Pth, DeflatedEntry) {
  Pickle p = tensor_pickle(4, 0, {4}, {1});
  std::string message = error_for(
      "deflated.pth", make_zip({{"archive/data.pkl", p.b, 8}, {"archive/data/0", Bytes(16), 0}}));
  EXPECT_CONTAINS(message, "'archive/data.pkl' is compressed (method 8)");
}

TEST(Pth, ForbiddenGlobal) {
  Pickle p;
  p.proto().global("os", "system").str("echo hacked").op(0x85).op('R').op('.');
  std::string message = error_for("os_system.pth", make_zip({{"evil/data.pkl", p.b}}));
  EXPECT_CONTAINS(message, "refuses to load global 'os.system' (only plain tensor checkpoints are read)");

  // STACK_GLOBAL (protocol 4) goes through the same whitelist.
  Pickle q;
  q.proto().str("builtins").str("eval").op(0x93).op('.');
  EXPECT_CONTAINS(error_for("eval.pth", make_zip({{"evil/data.pkl", q.b}})), "refuses to load global 'builtins.eval'");

  // Bytes from the file are shown as ASCII only.
  Pickle r;
  r.proto().global("\xc3\xa9vil", "x\x01").op('.');
  EXPECT_CONTAINS(error_for("non_ascii.pth", make_zip({{"evil/data.pkl", r.b}})), "global '??vil.x?'");
}

TEST(Pth, StorageLargerThanItsRecord) {
  std::string message = error_for("short_record.pth", tensor_zip(tensor_pickle(100, 0, {100}, {1}), 99));
  EXPECT_CONTAINS(message, "storage '0' claims 100 F32 elements but its record holds 396 bytes");
}

TEST(Pth, TensorPastItsStorage) {
  // Element 1 + (2-1)*1 + (3-1)*3 = 8 of a storage of 8.
  EXPECT_CONTAINS(error_for("past_storage.pth", tensor_zip(tensor_pickle(8, 1, {2, 3}, {1, 3}), 8)),
                  "reaches past its storage");
  EXPECT_CONTAINS(error_for("past_offset.pth", tensor_zip(tensor_pickle(8, 8, {1}, {1}), 8)),
                  "reaches past its storage");
  EXPECT_CONTAINS(error_for("negative_stride.pth", tensor_zip(tensor_pickle(8, 7, {2}, {-1}), 8)), "negative");
  EXPECT_CONTAINS(error_for("overflow.pth", tensor_zip(tensor_pickle(8, 0, {3, 2}, {INT64_MAX / 2 + 1, 1}), 8)),
                  "overflows");
}

TEST(Pth, HugeSizesRefusedBeforeAllocating) {
  // A storage of 1e15 elements: compared with its 16-byte record, never allocated.
  EXPECT_CONTAINS(error_for("huge_storage.pth", tensor_zip(tensor_pickle(1000000000000000, 0, {4}, {1}), 4)),
                  "claims 1000000000000000 F32 elements");
  // A 1e15-element tensor over one float (stride 0) fits its storage but not the file.
  EXPECT_CONTAINS(error_for("huge_view.pth", tensor_zip(tensor_pickle(1, 0, {1000000000000000}, {0}), 1)),
                  "tensor 'w' has 1000000000000000 elements, more than the file could hold");
}

TEST(Pth, OtherHostilePickles) {
  auto pickle_error = [](const std::string& name, const Pickle& p) {
    return error_for(name, make_zip({{"a/data.pkl", p.b}}));
  };
  Pickle pop;
  pop.proto().op('}').op('0').op('.');
  EXPECT_CONTAINS(pickle_error("pop.pth", pop), "unsupported pickle opcode POP (0x30)");
  Pickle unknown;
  unknown.proto().op(0xff);
  EXPECT_CONTAINS(pickle_error("unknown.pth", unknown), "unknown pickle opcode 0xff");
  Pickle no_stop;
  no_stop.proto().op('}');
  EXPECT_CONTAINS(pickle_error("no_stop.pth", no_stop), "truncated");
  Pickle memo;
  memo.proto().op('h').op(7).op('.');
  EXPECT_CONTAINS(pickle_error("memo.pth", memo), "memo entry 7");
  Pickle underflow;
  underflow.proto().op('}').op('(').op('N').op('s').op('.');
  EXPECT_CONTAINS(pickle_error("underflow.pth", underflow), "underflows");
  Pickle long_string;
  long_string.proto().op(0x8d);
  put64(long_string.b, uint64_t(1) << 62);
  EXPECT_CONTAINS(pickle_error("long_string.pth", long_string), "truncated");
  Pickle not_dict;
  not_dict.proto().op(']').op('.');
  EXPECT_CONTAINS(pickle_error("list.pth", not_dict), "holds a list, not a dict of tensors");
  Pickle no_tensors;
  no_tensors.proto().op('}').str("epoch").integer(3).op('s').op('.');
  EXPECT_CONTAINS(pickle_error("no_tensors.pth", no_tensors), "holds no tensors");
  Pickle reduce_storage;
  reduce_storage.proto().global("torch", "FloatStorage").op(')').op('R').op('.');
  EXPECT_CONTAINS(pickle_error("call_storage.pth", reduce_storage), "calls a storage type");

  // A list nested 200000 deep (each list appended to the one below it): no recursion anywhere.
  Pickle deep;
  deep.proto();
  for (int i = 0; i < 200000; ++i) deep.op(']');
  for (int i = 1; i < 200000; ++i) deep.op('a');
  deep.op('.');
  EXPECT_CONTAINS(pickle_error("deep.pth", deep), "holds a list");

  // A storage record that is not there, and no data.pkl at all.
  EXPECT_CONTAINS(error_for("no_record.pth", make_zip({{"a/data.pkl", tensor_pickle(1, 0, {1}, {1}).b}})),
                  "storage record 'a/data/0' is missing");
  EXPECT_CONTAINS(error_for("no_pkl.pth", make_zip({{"a/data/0", Bytes(4)}})), "without data.pkl");
}

// Random corruption of real checkpoints: parse_pth either succeeds or throws lorat::Error naming the
// file, never anything else (and, under the sanitizers, never reads out of bounds).
// LORAT_PTH_FUZZ_ITERATIONS sets the number of copies (default 300).
TEST(Pth, RandomCorruption) {
  const char* env = std::getenv("LORAT_PTH_FUZZ_ITERATIONS");
  int iterations = env && *env ? std::atoi(env) : 300;
  std::vector<Bytes> originals = {read_bytes(lorat_test::repo_data("tiny_dinov2.pth")),
                                  read_bytes(lorat_test::repo_data("pth_nested.pth")),
                                  read_bytes(lorat_test::repo_data("pth_protocol4.pth"))};
  std::mt19937_64 rng(20240611);
  int failures = 0;
  for (int it = 0; it < iterations; ++it) {
    const Bytes& original = originals[it % originals.size()];
    Bytes bytes = original;
    size_t n = bytes.size();
    int mutations = 1 + int(rng() % 4);
    for (int m = 0; m < mutations; ++m) {
      // Mostly the pickle (at the front) and the central directory (at the back).
      size_t region = rng() % 10, pos;
      if (region < 6) pos = rng() % std::min<size_t>(n, 4096);
      else if (region < 9) pos = n - 1 - rng() % std::min<size_t>(n, 4096);
      else pos = rng() % n;
      switch (rng() % 4) {
        case 0: bytes[pos] = uint8_t(rng()); break;
        case 1: bytes[pos] ^= uint8_t(1u << (rng() % 8)); break;
        case 2: bytes[pos] = (rng() % 2) ? 0xff : 0x00; break;
        default: bytes[pos] = uint8_t(bytes[pos] + ((rng() % 2) ? 1 : -1)); break;
      }
    }
    if (rng() % 16 == 0) bytes.resize(rng() % n);
    const std::string path = "fuzz/" + std::to_string(it) + ".pth";
    try {
      lorat::parse_pth(bytes, path);
    } catch (const lorat::Error& e) {
      ++failures;
      std::string message = e.what();
      ASSERT_EQ(message.rfind(path + ": ", 0), 0u) << message;
      ASSERT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
  // Enough corruptions must actually be noticed for the test to mean something.
  if (iterations >= 100) {
    EXPECT_GT(failures, iterations / 10);
  }
}
