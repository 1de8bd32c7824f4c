#include "pth.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "error.h"

namespace lorat {

namespace {

// Limits far above what real checkpoints need (ViT-g: ~600 tensors, ~20 pickle objects each) but
// low enough that a hostile data.pkl cannot make the pickle machine exhaust memory.
constexpr size_t kMaxObjects = size_t(1) << 22;
constexpr size_t kMaxStack = size_t(1) << 20;
constexpr size_t kMaxMarks = size_t(1) << 16;
constexpr size_t kMaxRank = 64;
constexpr int kMaxWrapperDepth = 4;  // {"model": {"state_dict": {...}}} and the like

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw Error(path + ": " + what); }

// Names and keys come from the file: keep the message one short line of ASCII (it may end up in a
// GError, which must be valid UTF-8).
std::string printable(const std::string& text) {
  std::string out = text.substr(0, 80);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  if (text.size() > 80) out += "...";
  return out;
}

uint16_t le16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint64_t le64(const uint8_t* p) { return uint64_t(le32(p)) | uint64_t(le32(p + 4)) << 32; }

// offset + length <= size, without overflow.
bool fits(uint64_t offset, uint64_t length, uint64_t size) { return offset <= size && length <= size - offset; }

// ---------------------------------------------------------------------------------------------
// Zip: only what torch.save writes (stored entries, possibly ZIP64), every field bounds-checked.

struct Record {
  uint64_t offset = 0, size = 0;  // of the entry's data, within the file
};

std::map<std::string, Record> read_zip(const uint8_t* data, uint64_t size, const std::string& path) {
  // The end of central directory record is 22 bytes plus a comment of at most 65535 bytes.
  uint64_t eocd = UINT64_MAX;
  if (size >= 22) {
    uint64_t lowest = size > 65557 ? size - 65557 : 0;
    for (uint64_t pos = size - 22;; --pos) {
      if (le32(data + pos) == 0x06054b50) {
        eocd = pos;
        break;
      }
      if (pos == lowest) break;
    }
  }
  if (eocd == UINT64_MAX) {
    if (size >= 2 && data[0] == 0x80 && data[1] <= 5)
      fail(path, "is in the legacy (pre-1.6) torch.save format; only the zip format is read");
    fail(path, "is not a zip archive (no end of central directory record)");
  }

  uint64_t entries = le16(data + eocd + 10), cd_size = le32(data + eocd + 12), cd_offset = le32(data + eocd + 16);
  bool multi_disk = le16(data + eocd + 4) != 0 || le16(data + eocd + 6) != 0;
  if (eocd >= 20 && le32(data + eocd - 20) == 0x07064b50) {
    // ZIP64: the locator just before the record points at the 64-bit end of central directory.
    const uint8_t* loc = data + eocd - 20;
    uint64_t eocd64 = le64(loc + 8);
    if (le32(loc + 4) != 0 || le32(loc + 16) > 1) fail(path, "is a multi-disk zip archive");
    if (!fits(eocd64, 56, size) || le32(data + eocd64) != 0x06064b50)
      fail(path, "has a broken ZIP64 end of central directory record");
    const uint8_t* e = data + eocd64;
    multi_disk = le32(e + 16) != 0 || le32(e + 20) != 0;
    entries = le64(e + 32);
    cd_size = le64(e + 40);
    cd_offset = le64(e + 48);
  }
  if (multi_disk) fail(path, "is a multi-disk zip archive");
  if (!fits(cd_offset, cd_size, size)) fail(path, "has a central directory past the end of the file (truncated?)");
  if (entries > cd_size / 46) fail(path, "has a central directory too small for its entry count");

  std::map<std::string, Record> records;
  uint64_t pos = cd_offset, end = cd_offset + cd_size;
  for (uint64_t n = 0; n < entries; ++n) {
    if (!fits(pos, 46, end) || le32(data + pos) != 0x02014b50) fail(path, "has a broken central directory entry");
    const uint8_t* c = data + pos;
    uint16_t flags = le16(c + 8), method = le16(c + 10);
    uint64_t compressed = le32(c + 20), size_field = le32(c + 24), local = le32(c + 42);
    uint32_t disk = le16(c + 34);
    uint64_t name_len = le16(c + 28), extra_len = le16(c + 30), comment_len = le16(c + 32);
    if (!fits(pos + 46, name_len + extra_len + comment_len, end)) fail(path, "has a broken central directory entry");
    std::string name(reinterpret_cast<const char*>(c + 46), name_len);

    // ZIP64 extra field: 64-bit values, in this order, for the 32-bit fields that are saturated.
    bool need_size = size_field == 0xffffffffu, need_compressed = compressed == 0xffffffffu;
    bool need_local = local == 0xffffffffu, need_disk = disk == 0xffffu;
    const uint8_t* x = c + 46 + name_len;
    const uint8_t* x_end = x + extra_len;
    while (x_end - x >= 4) {
      uint16_t id = le16(x), len = le16(x + 2);
      const uint8_t* field = x + 4;
      if (len > x_end - field) fail(path, "entry '" + printable(name) + "' has a broken extra field");
      if (id == 0x0001) {
        const uint8_t* f = field;
        auto take64 = [&](uint64_t* value, bool* need) {
          if (!*need || field + len - f < 8) return;
          *value = le64(f);
          f += 8;
          *need = false;
        };
        take64(&size_field, &need_size);
        take64(&compressed, &need_compressed);
        take64(&local, &need_local);
        if (need_disk && field + len - f >= 4) {
          disk = le32(f);
          need_disk = false;
        }
      }
      x = field + len;
    }
    if (need_size || need_compressed || need_local || need_disk)
      fail(path, "entry '" + printable(name) + "' lacks its ZIP64 extra field");
    if (disk != 0) fail(path, "is a multi-disk zip archive");
    if (flags & 1) fail(path, "entry '" + printable(name) + "' is encrypted");
    if (method != 0)
      fail(path, "entry '" + printable(name) + "' is compressed (method " + std::to_string(method) +
                     "); only stored entries are read, as torch.save writes them");
    if (compressed != size_field) fail(path, "entry '" + printable(name) + "' is stored with two different sizes");

    // The data follows the local header, whose name and extra field (torch pads it for alignment)
    // may differ in length from the central directory's.
    if (!fits(local, 30, size) || le32(data + local) != 0x04034b50)
      fail(path, "entry '" + printable(name) + "' has a broken local header");
    if (le16(data + local + 8) != 0) fail(path, "entry '" + printable(name) + "' is compressed in its local header");
    uint64_t start = local + 30 + le16(data + local + 26) + le16(data + local + 28);
    if (!fits(start, size_field, size))
      fail(path, "entry '" + printable(name) + "' runs past the end of the file (truncated?)");
    if (!records.emplace(name, Record{start, size_field}).second)
      fail(path, "has two entries named '" + printable(name) + "'");
    pos += 46 + name_len + extra_len + comment_len;
  }
  return records;
}

// ---------------------------------------------------------------------------------------------
// Pickle: a stack machine for the opcodes and globals of a plain tensor checkpoint.

enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, Tensor };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "string";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

// "an int", "a dict", "None": for messages.
std::string a_kind(Kind k) {
  if (k == Kind::None) return "None";
  return std::string(k == Kind::Int ? "an " : "a ") + kind_name(k);
}

enum class Global { OrderedDict, RebuildTensor, RebuildParameter, FloatStorage, HalfStorage, BFloat16Storage, DoubleStorage };

enum class DType { F32, F16, BF16, F64 };

const char* dtype_name(DType d) {
  switch (d) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::F64: return "F64";
  }
  return "?";
}

size_t dtype_size(DType d) { return d == DType::F64 ? 8 : d == DType::F32 ? 4 : 2; }

// Objects live in an arena owned by the machine and point at each other with raw pointers, so
// neither cycles (possible through the memo) nor deep nesting can recurse on destruction.
struct Object {
  Kind kind = Kind::None;
  int64_t i = 0;              // Bool, Int; Global (a Global value); Storage, Tensor (index)
  double f = 0;               // Float
  std::string s;              // String
  std::vector<Object*> items; // Tuple, List; Dict as key, value, key, value, ...
};

struct Storage {
  DType dtype = DType::F32;
  const uint8_t* data = nullptr;
  int64_t numel = 0;
};

struct TensorRef {
  size_t storage = 0;
  int64_t offset = 0, numel = 0;
  std::vector<int64_t> shape, stride;
};

const char* opcode_name(uint8_t op) {
  static const struct {
    uint8_t op;
    const char* name;
  } names[] = {
      {'(', "MARK"}, {'.', "STOP"}, {'0', "POP"}, {'1', "POP_MARK"}, {'2', "DUP"}, {'F', "FLOAT"},
      {'I', "INT"}, {'J', "BININT"}, {'K', "BININT1"}, {'L', "LONG"}, {'M', "BININT2"}, {'N', "NONE"},
      {'P', "PERSID"}, {'Q', "BINPERSID"}, {'R', "REDUCE"}, {'S', "STRING"}, {'T', "BINSTRING"},
      {'U', "SHORT_BINSTRING"}, {'V', "UNICODE"}, {'X', "BINUNICODE"}, {'a', "APPEND"}, {'b', "BUILD"},
      {'c', "GLOBAL"}, {'d', "DICT"}, {'}', "EMPTY_DICT"}, {'e', "APPENDS"}, {'g', "GET"}, {'h', "BINGET"},
      {'i', "INST"}, {'j', "LONG_BINGET"}, {'l', "LIST"}, {']', "EMPTY_LIST"}, {'o', "OBJ"}, {'p', "PUT"},
      {'q', "BINPUT"}, {'r', "LONG_BINPUT"}, {'s', "SETITEM"}, {'t', "TUPLE"}, {')', "EMPTY_TUPLE"},
      {'u', "SETITEMS"}, {'G', "BINFLOAT"}, {0x80, "PROTO"}, {0x81, "NEWOBJ"}, {0x82, "EXT1"},
      {0x83, "EXT2"}, {0x84, "EXT4"}, {0x85, "TUPLE1"}, {0x86, "TUPLE2"}, {0x87, "TUPLE3"},
      {0x88, "NEWTRUE"}, {0x89, "NEWFALSE"}, {0x8a, "LONG1"}, {0x8b, "LONG4"}, {'B', "BINBYTES"},
      {'C', "SHORT_BINBYTES"}, {0x8c, "SHORT_BINUNICODE"}, {0x8d, "BINUNICODE8"}, {0x8e, "BINBYTES8"},
      {0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"}, {0x91, "FROZENSET"}, {0x92, "NEWOBJ_EX"},
      {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"}, {0x95, "FRAME"}, {0x96, "BYTEARRAY8"},
      {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"}};
  for (const auto& n : names)
    if (n.op == op) return n.name;
  return nullptr;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* file, const std::map<std::string, Record>& records, const std::string& prefix,
            const std::string& path)
      : file_(file), records_(records), prefix_(prefix), path_(path) {
    const Record& pkl = records.at(prefix + "data.pkl");
    p_ = file + pkl.offset;
    end_ = p_ + pkl.size;
  }

  Object* run();
  const std::vector<Storage>& storages() const { return storages_; }
  const std::vector<TensorRef>& tensors() const { return tensors_; }
  [[noreturn]] void error(const std::string& what) const { fail(path_, what); }

 private:
  const uint8_t* take(uint64_t n) {
    if (n > uint64_t(end_ - p_)) error("data.pkl is truncated");
    const uint8_t* at = p_;
    p_ += n;
    return at;
  }

  Object* make(Kind kind) {
    if (objects_.size() >= kMaxObjects) error("data.pkl holds too many objects");
    objects_.push_back(std::make_unique<Object>());
    objects_.back()->kind = kind;
    return objects_.back().get();
  }
  Object* make_int(Kind kind, int64_t value) {
    Object* o = make(kind);
    o->i = value;
    return o;
  }

  // Pops never go below the innermost MARK (like CPython's C unpickler), so marks stay valid.
  size_t fence() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(Object* o) {
    if (stack_.size() >= kMaxStack) error("data.pkl's pickle stack grows too deep");
    stack_.push_back(o);
  }
  Object* top() const {
    if (stack_.size() <= fence()) error("data.pkl's pickle stack underflows");
    return stack_.back();
  }
  Object* pop() {
    Object* o = top();
    stack_.pop_back();
    return o;
  }
  std::vector<Object*> pop_mark() {
    if (marks_.empty()) error("data.pkl uses a MARK that was never set");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Object*> items(stack_.begin() + m, stack_.end());
    stack_.resize(m);
    return items;
  }
  Object* expect(Object* o, Kind kind, const char* what) const {
    if (o->kind != kind) error("in data.pkl, " + std::string(what) + " is " + a_kind(o->kind) + ", not " + a_kind(kind));
    return o;
  }

  void memo_put(uint64_t index) {
    if (memo_.size() >= kMaxObjects) error("data.pkl's memo grows too large");
    memo_[index] = top();
  }
  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) error("data.pkl refers to memo entry " + std::to_string(index) + ", which was never stored");
    push(it->second);
  }

  void push_string(uint64_t length) {
    const uint8_t* at = take(length);
    Object* o = make(Kind::String);
    o->s.assign(reinterpret_cast<const char*>(at), length);
    push(o);
  }

  void push_tuple(std::vector<Object*> items) {
    Object* o = make(Kind::Tuple);
    o->items = std::move(items);
    push(o);
  }

  void global(const std::string& module, const std::string& name);
  void reduce();
  Object* persistent_load(Object* pid);
  Object* rebuild_tensor(const std::vector<Object*>& args);

  const uint8_t* file_;
  const std::map<std::string, Record>& records_;
  std::string prefix_, path_;
  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  std::vector<std::unique_ptr<Object>> objects_;
  std::vector<Object*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Object*> memo_;
  std::vector<Storage> storages_;
  std::vector<TensorRef> tensors_;
  std::map<std::string, size_t> storage_by_key_;
};

void Unpickler::global(const std::string& module, const std::string& name) {
  static const struct {
    const char* module;
    const char* name;
    Global global;
  } allowed[] = {
      {"collections", "OrderedDict", Global::OrderedDict},
      {"torch._utils", "_rebuild_tensor_v2", Global::RebuildTensor},
      {"torch._utils", "_rebuild_parameter", Global::RebuildParameter},
      {"torch", "FloatStorage", Global::FloatStorage},
      {"torch", "HalfStorage", Global::HalfStorage},
      {"torch", "BFloat16Storage", Global::BFloat16Storage},
      {"torch", "DoubleStorage", Global::DoubleStorage},
  };
  for (const auto& a : allowed) {
    if (module == a.module && name == a.name) {
      push(make_int(Kind::Global, int64_t(a.global)));
      return;
    }
  }
  error("refuses to load global '" + printable(module + "." + name) + "' (only plain tensor checkpoints are read)");
}

// ('storage', StorageType, key, location, numel) -> the record <prefix>data/<key>, checked to hold numel elements.
Object* Unpickler::persistent_load(Object* pid) {
  expect(pid, Kind::Tuple, "a persistent id");
  const std::vector<Object*>& t = pid->items;
  if (t.size() != 5 || t[0]->kind != Kind::String || t[0]->s != "storage" || t[1]->kind != Kind::Global ||
      t[2]->kind != Kind::String || t[4]->kind != Kind::Int)
    error("data.pkl has a persistent id that is not ('storage', type, key, location, numel)");
  DType dtype;
  switch (Global(t[1]->i)) {
    case Global::FloatStorage: dtype = DType::F32; break;
    case Global::HalfStorage: dtype = DType::F16; break;
    case Global::BFloat16Storage: dtype = DType::BF16; break;
    case Global::DoubleStorage: dtype = DType::F64; break;
    default: error("data.pkl has a persistent id whose storage type is not a storage");
  }
  const std::string& key = t[2]->s;
  int64_t numel = t[4]->i;

  auto cached = storage_by_key_.find(key);
  if (cached != storage_by_key_.end()) {
    const Storage& s = storages_[cached->second];
    if (s.dtype != dtype || s.numel != numel)
      error("storage '" + printable(key) + "' is declared twice with different types or sizes");
    return make_int(Kind::Storage, int64_t(cached->second));
  }

  auto record = records_.find(prefix_ + "data/" + key);
  if (record == records_.end()) error("storage record '" + printable(prefix_ + "data/" + key) + "' is missing");
  // numel comes from the file: compare by division so a huge value cannot overflow.
  if (numel < 0 || uint64_t(numel) > record->second.size / dtype_size(dtype))
    error("storage '" + printable(key) + "' claims " + std::to_string(numel) + " " + dtype_name(dtype) +
          " elements but its record holds " + std::to_string(record->second.size) + " bytes");
  storages_.push_back(Storage{dtype, file_ + record->second.offset, numel});
  storage_by_key_[key] = storages_.size() - 1;
  return make_int(Kind::Storage, int64_t(storages_.size() - 1));
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]):
// only checked and recorded here; the values are gathered later, for the tensors that are returned.
Object* Unpickler::rebuild_tensor(const std::vector<Object*>& args) {
  if (args.size() != 6 && args.size() != 7) error("data.pkl calls _rebuild_tensor_v2 with the wrong arguments");
  expect(args[0], Kind::Storage, "a tensor's storage");
  expect(args[1], Kind::Int, "a tensor's storage offset");
  expect(args[2], Kind::Tuple, "a tensor's size");
  expect(args[3], Kind::Tuple, "a tensor's stride");
  const std::vector<Object*>& size = args[2]->items;
  const std::vector<Object*>& stride = args[3]->items;
  if (size.size() != stride.size() || size.size() > kMaxRank) error("data.pkl has a tensor with a bad size or stride");

  TensorRef t;
  t.storage = size_t(args[0]->i);
  t.offset = args[1]->i;
  const Storage& storage = storages_[t.storage];
  bool empty = false;
  for (size_t d = 0; d < size.size(); ++d) {
    if (size[d]->kind != Kind::Int || stride[d]->kind != Kind::Int || size[d]->i < 0 || stride[d]->i < 0)
      error("data.pkl has a tensor with a negative or non-integer size or stride");
    t.shape.push_back(size[d]->i);
    t.stride.push_back(stride[d]->i);
    empty = empty || size[d]->i == 0;
  }
  if (t.offset < 0) error("data.pkl has a tensor with a negative storage offset");
  t.numel = empty ? 0 : 1;
  if (!empty) {
    // The last element read is offset + sum((size - 1) * stride); it must lie inside the storage.
    int64_t last = t.offset;
    for (size_t d = 0; d < t.shape.size(); ++d) {
      int64_t step;
      if (__builtin_mul_overflow(t.shape[d], t.numel, &t.numel) ||
          __builtin_mul_overflow(t.shape[d] - 1, t.stride[d], &step) || __builtin_add_overflow(last, step, &last))
        error("data.pkl has a tensor whose size overflows");
    }
    if (last >= storage.numel)
      error("data.pkl has a tensor that reaches past its storage (element " + std::to_string(last) + " of " +
            std::to_string(storage.numel) + ")");
  }
  tensors_.push_back(std::move(t));
  return make_int(Kind::Tensor, int64_t(tensors_.size() - 1));
}

void Unpickler::reduce() {
  Object* args = expect(pop(), Kind::Tuple, "REDUCE's argument");
  Object* callable = pop();
  if (callable->kind != Kind::Global) error("data.pkl calls " + a_kind(callable->kind));
  switch (Global(callable->i)) {
    case Global::OrderedDict:
      if (!args->items.empty()) error("data.pkl calls OrderedDict with arguments");
      push(make(Kind::Dict));
      return;
    case Global::RebuildTensor:
      push(rebuild_tensor(args->items));
      return;
    case Global::RebuildParameter:
      if (args->items.size() != 3 || args->items[0]->kind != Kind::Tensor)
        error("data.pkl calls _rebuild_parameter with the wrong arguments");
      push(args->items[0]);
      return;
    default:
      error("data.pkl calls a storage type");
  }
}

Object* Unpickler::run() {
  while (true) {
    uint8_t op = *take(1);
    switch (op) {
      case 0x80: {  // PROTO
        uint8_t version = *take(1);
        if (version > 5) error("data.pkl uses pickle protocol " + std::to_string(version));
        break;
      }
      case 0x95:  // FRAME: only a read-ahead hint
        take(8);
        break;
      case '.':  // STOP
        return pop();
      case '(':  // MARK
        if (marks_.size() >= kMaxMarks) error("data.pkl nests MARKs too deeply");
        marks_.push_back(stack_.size());
        break;
      case '}':  // EMPTY_DICT
        push(make(Kind::Dict));
        break;
      case ']':  // EMPTY_LIST
        push(make(Kind::List));
        break;
      case ')':  // EMPTY_TUPLE
        push_tuple({});
        break;
      case 't':  // TUPLE
        push_tuple(pop_mark());
        break;
      case 0x85:  // TUPLE1
      case 0x86:  // TUPLE2
      case 0x87: {  // TUPLE3
        std::vector<Object*> items(op - 0x84);
        for (size_t k = items.size(); k-- > 0;) items[k] = pop();
        push_tuple(std::move(items));
        break;
      }
      case 'X':  // BINUNICODE
        push_string(le32(take(4)));
        break;
      case 0x8c:  // SHORT_BINUNICODE
        push_string(*take(1));
        break;
      case 0x8d:  // BINUNICODE8
        push_string(le64(take(8)));
        break;
      case 'J':  // BININT (signed)
        push(make_int(Kind::Int, int32_t(le32(take(4)))));
        break;
      case 'K':  // BININT1
        push(make_int(Kind::Int, *take(1)));
        break;
      case 'M':  // BININT2
        push(make_int(Kind::Int, le16(take(2))));
        break;
      case 0x8a: {  // LONG1: little-endian two's complement of n bytes
        uint8_t n = *take(1);
        if (n > 8) error("data.pkl holds an integer wider than 64 bits");
        const uint8_t* b = take(n);
        uint64_t v = 0;
        for (int k = n - 1; k >= 0; --k) v = v << 8 | b[k];
        if (n > 0 && n < 8 && (b[n - 1] & 0x80)) v |= ~uint64_t(0) << (8 * n);  // sign-extend
        push(make_int(Kind::Int, int64_t(v)));
        break;
      }
      case 'N':  // NONE
        push(make(Kind::None));
        break;
      case 0x88:  // NEWTRUE
      case 0x89:  // NEWFALSE
        push(make_int(Kind::Bool, op == 0x88));
        break;
      case 'G': {  // BINFLOAT: big-endian double
        const uint8_t* b = take(8);
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = bits << 8 | b[k];
        Object* o = make(Kind::Float);
        std::memcpy(&o->f, &bits, 8);
        push(o);
        break;
      }
      case 'c': {  // GLOBAL: "module\nname\n"
        std::string parts[2];
        for (std::string& part : parts) {
          const uint8_t* nl = static_cast<const uint8_t*>(std::memchr(p_, '\n', size_t(end_ - p_)));
          if (!nl) error("data.pkl is truncated");
          part.assign(reinterpret_cast<const char*>(p_), size_t(nl - p_));
          p_ = nl + 1;
        }
        global(parts[0], parts[1]);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Object* name = expect(pop(), Kind::String, "STACK_GLOBAL's name");
        Object* module = expect(pop(), Kind::String, "STACK_GLOBAL's module");
        global(module->s, name->s);
        break;
      }
      case 'q':  // BINPUT
        memo_put(*take(1));
        break;
      case 'r':  // LONG_BINPUT
        memo_put(le32(take(4)));
        break;
      case 0x94:  // MEMOIZE
        memo_put(memo_.size());
        break;
      case 'h':  // BINGET
        memo_get(*take(1));
        break;
      case 'j':  // LONG_BINGET
        memo_get(le32(take(4)));
        break;
      case 'R':  // REDUCE
        reduce();
        break;
      case 'b': {  // BUILD: only a dict's state (a state_dict's _metadata), which we do not need
        pop();
        Object* target = top();
        if (target->kind != Kind::Dict) error("data.pkl sets the state of " + a_kind(target->kind));
        break;
      }
      case 'Q':  // BINPERSID
        push(persistent_load(pop()));
        break;
      case 's': {  // SETITEM
        Object* value = pop();
        Object* key = pop();
        Object* dict = expect(top(), Kind::Dict, "SETITEM's target");
        dict->items.push_back(key);
        dict->items.push_back(value);
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<Object*> items = pop_mark();
        if (items.size() % 2) error("data.pkl's SETITEMS has a key without a value");
        Object* dict = expect(top(), Kind::Dict, "SETITEMS's target");
        dict->items.insert(dict->items.end(), items.begin(), items.end());
        break;
      }
      case 'a': {  // APPEND
        Object* value = pop();
        expect(top(), Kind::List, "APPEND's target")->items.push_back(value);
        break;
      }
      case 'e': {  // APPENDS
        std::vector<Object*> items = pop_mark();
        Object* list = expect(top(), Kind::List, "APPENDS's target");
        list->items.insert(list->items.end(), items.begin(), items.end());
        break;
      }
      default: {
        const char* name = opcode_name(op);
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        error(name ? std::string("data.pkl uses the unsupported pickle opcode ") + name + " (" + hex + ")"
                   : std::string("data.pkl holds an unknown pickle opcode ") + hex);
      }
    }
  }
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in float32
    float v = std::ldexp(float(mantissa), -24);
    return sign ? -v : v;
  }
  uint32_t bits = exponent == 31 ? sign | 0x7f800000u | mantissa << 13 : sign | (exponent + 112) << 23 | mantissa << 13;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float load_element(const Storage& s, int64_t index) {
  const uint8_t* p = s.data + uint64_t(index) * dtype_size(s.dtype);
  switch (s.dtype) {
    case DType::F32: {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    case DType::F16:
      return f16_to_f32(le16(p));
    case DType::BF16: {
      uint32_t bits = uint32_t(le16(p)) << 16;
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    case DType::F64: {
      double d;
      std::memcpy(&d, p, 8);
      return float(d);
    }
  }
  return 0;
}

// Copies a (possibly strided) tensor into contiguous row-major float32. Bounds were checked in
// rebuild_tensor: every index lies in [offset, last element] inside the storage.
std::vector<float> gather(const TensorRef& t, const Storage& s) {
  std::vector<float> out(size_t(t.numel));
  if (t.numel == 0) return out;
  size_t rank = t.shape.size();
  int64_t expected = 1;  // row-major strides; size-1 dimensions may have any stride
  bool contiguous = true;
  for (size_t d = rank; d-- > 0;) {
    if (t.shape[d] != 1 && t.stride[d] != expected) contiguous = false;
    expected *= t.shape[d];
  }
  if (contiguous && s.dtype == DType::F32) {  // the common case: one copy
    std::memcpy(out.data(), s.data + uint64_t(t.offset) * 4, size_t(t.numel) * 4);
    return out;
  }
  std::vector<int64_t> index(rank, 0);
  int64_t pos = t.offset;
  for (int64_t j = 0; j < t.numel; ++j) {
    out[size_t(j)] = load_element(s, pos);
    for (size_t d = rank; d-- > 0;) {  // odometer step, last dimension fastest
      if (index[d] + 1 < t.shape[d]) {
        ++index[d];
        pos += t.stride[d];
        break;
      }
      pos -= (t.shape[d] - 1) * t.stride[d];
      index[d] = 0;
    }
  }
  return out;
}

bool has_tensor_values(const Object* dict) {
  for (size_t k = 0; k + 1 < dict->items.size(); k += 2)
    if (dict->items[k + 1]->kind == Kind::Tensor) return true;
  return false;
}

std::map<std::string, PthTensor> parse(const uint8_t* data, uint64_t size, const std::string& path) {
  std::map<std::string, Record> records = read_zip(data, size, path);

  // <archive>/data.pkl, where <archive> is any top-level folder name.
  std::string prefix;
  int found = 0;
  for (const auto& r : records) {
    const std::string& name = r.first;
    static const std::string suffix = "data.pkl";
    if (name.size() < suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    std::string folder = name.substr(0, name.size() - suffix.size());
    if (folder.empty() || (folder.back() == '/' && folder.find('/') == folder.size() - 1)) {
      prefix = folder;
      ++found;
    }
  }
  if (found == 0) fail(path, "is a zip archive without data.pkl (not a torch.save checkpoint)");
  if (found > 1) fail(path, "holds more than one data.pkl");

  auto byteorder = records.find(prefix + "byteorder");
  if (byteorder != records.end() &&
      std::string(reinterpret_cast<const char*>(data + byteorder->second.offset), byteorder->second.size) != "little")
    fail(path, "was saved big-endian; only little-endian checkpoints are read");

  Unpickler unpickler(data, records, prefix, path);
  Object* dict = unpickler.run();
  for (int depth = 0;; ++depth) {
    if (dict->kind != Kind::Dict) fail(path, "holds " + a_kind(dict->kind) + ", not a dict of tensors");
    if (has_tensor_values(dict)) break;
    Object* inner = nullptr;
    for (const char* wrapper : {"model", "state_dict", "teacher"}) {
      for (size_t k = 0; k + 1 < dict->items.size() && !inner; k += 2) {
        const Object* key = dict->items[k];
        if (key->kind == Kind::String && key->s == wrapper && dict->items[k + 1]->kind == Kind::Dict)
          inner = dict->items[k + 1];
      }
    }
    if (!inner || depth == kMaxWrapperDepth) fail(path, "holds no tensors");
    dict = inner;
  }

  // Stride-0 views could expand a small storage into huge tensors: allow no more float32 values in
  // total than the file has bytes (a real checkpoint needs at most a quarter of that), checked
  // before each allocation.
  uint64_t budget = size;
  std::map<std::string, PthTensor> result;
  for (size_t k = 0; k + 1 < dict->items.size(); k += 2) {
    const Object* key = dict->items[k];
    const Object* value = dict->items[k + 1];
    if (key->kind != Kind::String || value->kind != Kind::Tensor) continue;
    const TensorRef& t = unpickler.tensors()[size_t(value->i)];
    const Storage& s = unpickler.storages()[t.storage];
    if (uint64_t(t.numel) > budget)
      fail(path, "tensor '" + printable(key->s) + "' has " + std::to_string(t.numel) +
                     " elements, more than the file could hold");
    budget -= uint64_t(t.numel);
    PthTensor& out = result[key->s];  // a repeated key: the later value wins, as in Python
    out.dtype = dtype_name(s.dtype);
    out.shape = t.shape;
    out.values = gather(t, s);
  }
  return result;
}

}  // namespace

std::map<std::string, PthTensor> parse_pth(const std::vector<uint8_t>& bytes, const std::string& path) {
  return parse(bytes.data(), bytes.size(), path);
}

std::map<std::string, PthTensor> read_pth_file(const std::string& path) {
  // O_NONBLOCK: a FIFO given as the path must not hang here (it is then refused as not a regular file).
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail(path, std::string("cannot open (") + std::strerror(errno) + ")");
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, "is not a regular file");
  }
  size_t size = size_t(st.st_size);
  if (size == 0) {
    ::close(fd);
    fail(path, "is empty");
  }
  // Mapped rather than read: Meta's ViT-g checkpoint is 4.5 GB, and only the tensors are copied.
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int saved_errno = errno;
  ::close(fd);
  if (map == MAP_FAILED) fail(path, std::string("cannot map (") + std::strerror(saved_errno) + ")");
  struct Unmap {
    void* p;
    size_t n;
    ~Unmap() { ::munmap(p, n); }
  } unmap{map, size};
  return parse(static_cast<const uint8_t*>(map), size, path);
}

}  // namespace lorat
