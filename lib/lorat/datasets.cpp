#include "datasets.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "error.h"
#include "sequence.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace lorat {

namespace {

constexpr size_t kMaxProblems = 20;
constexpr size_t kReportShown = 5;  // problems format_report prints

// Collects the sequences kept and everything skipped while reading one dataset.
class Reader {
 public:
  Reader(std::string kind, std::string label, std::string root)
      : kind_(std::move(kind)), label_(std::move(label)), root_(std::move(root)) {
    report_.name = kind_ + " " + root_;
  }

  // One broken thing; count = how many entries it made unusable (0: worth saying, nothing lost).
  void problem(const std::string& line, int count = 1) {
    report_.skipped += count;
    if (report_.problems.size() < kMaxProblems) report_.problems.push_back(line);
  }

  // A line that sums up many skipped entries (COCO crowd/tiny boxes); it goes first so the
  // per-entry problems cannot push it out of the first 20.
  void summary(const std::string& line, int count) {
    report_.skipped += count;
    report_.problems.insert(report_.problems.begin(), line);
    if (report_.problems.size() > kMaxProblems) report_.problems.pop_back();
  }

  void keep(TrainSequence seq, int absent_frames) {
    report_.sequences += 1;
    report_.frames += int(seq.frames.size());
    report_.usable_frames += int(std::count(seq.usable.begin(), seq.usable.end(), uint8_t(1)));
    report_.absent += absent_frames;
    sequences_.push_back(std::move(seq));
  }

  Dataset finish() {
    if (sequences_.empty()) {
      std::string first = report_.problems.empty() ? "" : " (first problem: " + report_.problems.front() + ")";
      throw Error(root_ + ": no usable " + label_ + " sequences found" + first);
    }
    Dataset d;
    d.kind = kind_;
    d.root = root_;
    d.sequences = std::move(sequences_);
    d.report = report_;
    return d;
  }

 private:
  std::string kind_, label_, root_;
  DatasetReport report_;
  std::vector<TrainSequence> sequences_;
};

void require_folder(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) throw Error(path + ": no such folder (" + what + ")");
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Long garbage lines would make the report unreadable.
std::string shorten(const std::string& s) { return s.size() <= 60 ? s : s.substr(0, 57) + "..."; }

bool read_text(const fs::path& file, std::string* text) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return false;
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  std::ostringstream out;
  out << in.rdbuf();  // an empty file only sets failbit on out; the text is then ""
  *text = out.str();
  return true;
}

// Trimmed lines; blank lines in the middle stay (they keep line i = frame i), trailing ones go.
std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(trim(line));
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// Compares runs of digits by value, so "airplane-2" < "airplane-10" and "2.jpg" < "10.jpg".
bool natural_less(const std::string& a, const std::string& b) {
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      size_t ie = i, je = j;
      while (ie < a.size() && digit(a[ie])) ++ie;
      while (je < b.size() && digit(b[je])) ++je;
      size_t iz = i, jz = j;  // skip leading zeros, keeping one digit
      while (iz + 1 < ie && a[iz] == '0') ++iz;
      while (jz + 1 < je && b[jz] == '0') ++jz;
      if (ie - iz != je - jz) return ie - iz < je - jz;
      if (int c = a.compare(iz, ie - iz, b, jz, je - jz)) return c < 0;
      if (ie - i != je - j) return ie - i < je - j;  // "1" before "01": a total order
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

void sort_natural(std::vector<fs::path>* paths) {
  std::sort(paths->begin(), paths->end(), [](const fs::path& a, const fs::path& b) {
    return natural_less(a.filename().string(), b.filename().string());
  });
}

// Sub-folders in natural order; hidden ones (".git", "._x") are not data.
std::vector<fs::path> subdirs(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec))
    if (entry.is_directory(ec) && entry.path().filename().string().rfind('.', 0) != 0) out.push_back(entry.path());
  sort_natural(&out);
  return out;
}

// "seq/" and "./seq" both name "seq".
std::string folder_name(const fs::path& dir) {
  fs::path p = fs::absolute(dir).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  return p.filename().string();
}

bool is_image(const fs::path& file) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

// "00000042.jpg" -> 42; false for names that are not a plain number.
bool stem_number(const fs::path& file, long* n) {
  std::string stem = file.stem().string();
  if (stem.empty() || stem.size() > 9) return false;
  for (char c : stem)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  *n = std::stol(stem);
  return true;
}

struct FrameList {
  std::vector<std::string> paths;
  std::vector<uint8_t> present;  // 0: the numbering says this frame exists but its image is missing
};

// The frames of a folder of numbered images ("00000001.jpg", "0.jpg"): every number from the first
// (first_number, or the smallest present when < 0) to the largest present, so a gap becomes a
// missing frame instead of shifting the ground truth onto the wrong images. Names that are not all
// numbers: the images in natural order.
FrameList list_frames(Reader& r, const fs::path& dir, long first_number) {
  FrameList out;
  std::vector<fs::path> images;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file(ec) && is_image(entry.path())) images.push_back(entry.path());
  if (images.empty()) return out;

  std::map<long, fs::path> numbered;
  bool all_numbers = true;
  for (const fs::path& p : images) {
    long n;
    if (!stem_number(p, &n)) {
      all_numbers = false;
      break;
    }
    numbered.emplace(n, p);
  }
  if (all_numbers) {
    long lo = first_number >= 0 ? first_number : numbered.begin()->first, hi = numbered.rbegin()->first;
    if (numbered.begin()->first < lo)
      r.problem(dir.string() + ": images numbered below " + std::to_string(lo) + " ignored", 0);
    // A stray "99999999.jpg" must not make a hundred million missing frames.
    if (lo <= hi && size_t(hi - lo) < 2 * images.size() + 1000) {
      const fs::path& model = numbered.begin()->second;  // its zero padding and extension name the gaps
      size_t width = model.stem().string().size();
      std::string ext = model.extension().string();
      for (long n = lo; n <= hi; ++n) {
        auto it = numbered.find(n);
        if (it != numbered.end()) {
          out.paths.push_back(it->second.string());
          out.present.push_back(1);
        } else {
          std::string name = std::to_string(n);
          if (name.size() < width) name.insert(0, width - name.size(), '0');
          out.paths.push_back((dir / (name + ext)).string());
          out.present.push_back(0);
        }
      }
      return out;
    }
    r.problem(dir.string() + ": image numbers " + std::to_string(lo) + ".." + std::to_string(hi) + " do not fit " +
                  std::to_string(images.size()) + " images; taking the images in name order",
              0);
  }
  sort_natural(&images);
  for (const fs::path& p : images) out.paths.push_back(p.string());
  out.present.assign(images.size(), 1);
  return out;
}

// Per frame: 0 visible, 1 marked absent by one of the 0/1 files (commas, blanks or newlines
// between values), -1 an unreadable value. A missing file or a short one leaves frames visible.
std::vector<int8_t> read_absence(Reader& r, const std::vector<fs::path>& files, size_t frames) {
  std::vector<int8_t> absent(frames, 0);
  for (const fs::path& file : files) {
    std::string text;
    if (!read_text(file, &text)) {
      r.problem(file.string() + ": missing; frames taken as visible", 0);
      continue;
    }
    size_t count = 0;
    int line = 1;
    std::string token;
    auto flush = [&] {
      if (token.empty()) return;
      size_t i = count++;
      if (i < frames) {
        if (token == "1" && absent[i] == 0) {
          absent[i] = 1;
        } else if (token != "0" && token != "1") {
          r.problem(file.string() + ":" + std::to_string(line) + ": value " + std::to_string(i + 1) + " is '" +
                    shorten(token) + "', expected 0 or 1");
          absent[i] = -1;
        }
      }
      token.clear();
    };
    for (char c : text) {
      if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
        flush();
        if (c == '\n') ++line;
      } else {
        token += c;
      }
    }
    flush();
    if (count != frames)
      r.problem(file.string() + ": " + std::to_string(count) + " values for " + std::to_string(frames) + " frames" +
                    (count < frames ? "; the rest taken as visible" : "; extra values ignored"),
                0);
  }
  return absent;
}

// Where one sequence's frames, ground truth and absence flags are.
struct SequenceFiles {
  std::string name;
  fs::path image_dir;
  long first_number = -1;  // number of the first frame's image; -1: the smallest present
  fs::path groundtruth;
  bool one_based = false;
  std::vector<fs::path> absence;  // 0/1 files, 1 = target absent (occluded, out of view)
};

// Reads one sequence into r: every frame gets a box and a usable flag; a frame with a bad line,
// a missing image, an absence mark or an empty box is unusable. Fewer than 2 usable frames: dropped.
void read_sequence(Reader& r, const SequenceFiles& f) {
  const std::string gt = f.groundtruth.string();
  std::string text;
  if (!read_text(f.groundtruth, &text)) {
    r.problem(gt + ": missing or unreadable; sequence skipped");
    return;
  }
  std::error_code ec;
  if (!fs::is_directory(f.image_dir, ec)) {
    r.problem(f.image_dir.string() + ": no such image folder; sequence skipped");
    return;
  }
  FrameList list = list_frames(r, f.image_dir, f.first_number);
  if (list.paths.empty()) {
    r.problem(f.image_dir.string() + ": no images (.jpg, .jpeg, .png); sequence skipped");
    return;
  }

  const size_t n = list.paths.size();
  TrainSequence seq;
  seq.name = f.name;
  seq.frames = std::move(list.paths);
  seq.boxes.assign(n, Box{});
  seq.usable.assign(n, 0);

  // Line by line, so one bad line costs one frame (parse_groundtruth throws for the whole text).
  std::vector<std::string> lines = split_lines(text);
  std::vector<uint8_t> has_box(n, 0);
  for (size_t i = 0; i < std::min(n, lines.size()); ++i) {
    std::vector<Box> parsed;
    try {
      parsed = parse_groundtruth(lines[i], gt, f.one_based);
    } catch (const Error&) {
    }
    if (parsed.size() != 1) {
      r.problem(gt + ":" + std::to_string(i + 1) + ": expected 4 or 8 numbers, got '" + shorten(lines[i]) + "'");
      continue;
    }
    seq.boxes[i] = parsed[0];
    has_box[i] = 1;
  }
  if (lines.size() > n) {
    int extra = int(lines.size() - n);
    r.problem(gt + ":" + std::to_string(n + 1) + ": " + std::to_string(extra) + " lines past the last image (" +
                  std::to_string(n) + " frames) ignored",
              extra);
  } else if (lines.size() < n) {
    int missing = int(n - lines.size());
    r.problem(gt + ": no ground truth for the last " + std::to_string(missing) + " of " + std::to_string(n) + " frames",
              missing);
  }

  std::vector<int8_t> absent = read_absence(r, f.absence, n);
  int absent_frames = 0, usable = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!has_box[i]) continue;  // counted above
    if (!list.present[i]) {
      r.problem(seq.frames[i] + ": missing image");
      continue;
    }
    if (absent[i] < 0) continue;  // counted by read_absence
    if (absent[i] > 0) {
      ++absent_frames;
      continue;
    }
    if (!seq.boxes[i].valid()) {  // NaN, zero or negative size
      r.problem(gt + ":" + std::to_string(i + 1) + ": empty box '" + shorten(lines[i]) + "'");
      continue;
    }
    seq.usable[i] = 1;
    ++usable;
  }
  if (usable < 2) {
    r.problem(gt + ": " + std::to_string(usable) + " usable frames of " + std::to_string(n) + "; sequence dropped");
    return;
  }
  r.keep(std::move(seq), absent_frames);
}

// Sequence folders named in list.txt (one per line); false when there is no list.txt.
bool read_list(Reader& r, const fs::path& root, std::vector<fs::path>* dirs) {
  fs::path list = root / "list.txt";
  std::string text;
  if (!read_text(list, &text)) return false;
  std::vector<std::string> lines = split_lines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    fs::path dir = root / lines[i];
    std::error_code ec;
    if (fs::is_directory(dir, ec))
      dirs->push_back(dir);
    else
      r.problem(list.string() + ":" + std::to_string(i + 1) + ": no folder '" + shorten(lines[i]) + "'");
  }
  return true;
}

// The images of a VOT sequence: color/ (VOT2020+), img/, or the folder itself.
fs::path vot_images(const fs::path& dir) {
  std::error_code ec;
  for (const char* sub : {"color", "img"})
    if (fs::is_directory(dir / sub, ec)) return dir / sub;
  return dir;
}

// OTB names the ground truth groundtruth_rect.txt, or groundtruth_rect.<k>.txt when a sequence
// has several targets (Jogging, Skating2).
std::vector<fs::path> otb_groundtruths(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_regular_file(dir / "groundtruth_rect.txt", ec)) return {dir / "groundtruth_rect.txt"};
  std::vector<fs::path> out;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("groundtruth_rect.", 0) == 0 && entry.path().extension() == ".txt" && entry.is_regular_file(ec))
      out.push_back(entry.path());
  }
  sort_natural(&out);
  return out;
}

// Appends b to a (COCO splits read separately).
void merge(Dataset* a, Dataset b) {
  for (TrainSequence& s : b.sequences) a->sequences.push_back(std::move(s));
  DatasetReport& r = a->report;
  r.sequences += b.report.sequences;
  r.frames += b.report.frames;
  r.usable_frames += b.report.usable_frames;
  r.skipped += b.report.skipped;
  r.absent += b.report.absent;
  for (const std::string& p : b.report.problems)
    if (r.problems.size() < kMaxProblems) r.problems.push_back(p);
}

// "annotations.json:image_dir", or a folder with annotations/instances_<split>.json and <split>/.
Dataset read_coco_path(const std::string& path) {
  size_t sep = path.find(".json:");
  if (sep != std::string::npos) return read_coco(path.substr(0, sep + 5), path.substr(sep + 6));
  std::error_code ec;
  if (!fs::is_directory(path, ec))
    throw Error(path + ": expected 'annotations.json:image_dir' or a COCO folder with annotations/instances_*.json");
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(fs::path(path) / "annotations", ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("instances_", 0) == 0 && entry.path().extension() == ".json") files.push_back(entry.path());
  }
  sort_natural(&files);
  if (files.empty()) throw Error(path + ": no annotations/instances_*.json found (COCO)");

  Dataset all;
  all.kind = "coco";
  all.root = path;
  all.report.name = "coco " + path;
  std::vector<std::string> failed;  // a split without its images is reported, not fatal
  for (const fs::path& file : files) {
    std::string split = file.stem().string().substr(std::string("instances_").size());
    try {
      merge(&all, read_coco(file.string(), (fs::path(path) / split).string()));
    } catch (const Error& e) {
      failed.push_back(e.what());
    }
  }
  if (all.sequences.empty()) throw Error(path + ": no usable COCO annotations (" + failed.front() + ")");
  for (const std::string& f : failed) {
    all.report.problems.insert(all.report.problems.begin(), f);
    if (all.report.problems.size() > kMaxProblems) all.report.problems.pop_back();
  }
  return all;
}

}  // namespace

Dataset read_lasot(const std::string& root) {
  require_folder(root, "LaSOT dataset");
  Reader r("lasot", "LaSOT", root);
  for (const fs::path& cls : subdirs(root)) {
    for (const fs::path& dir : subdirs(cls)) {
      SequenceFiles f;
      f.name = dir.filename().string();
      f.image_dir = dir / "img";
      f.first_number = 1;
      f.groundtruth = dir / "groundtruth.txt";
      f.one_based = true;
      f.absence = {dir / "full_occlusion.txt", dir / "out_of_view.txt"};
      read_sequence(r, f);
    }
  }
  return r.finish();
}

Dataset read_got10k(const std::string& split_dir) {
  require_folder(split_dir, "GOT-10k split");
  Reader r("got10k", "GOT-10k", split_dir);
  std::vector<fs::path> dirs;
  if (!read_list(r, split_dir, &dirs)) dirs = subdirs(split_dir);
  for (const fs::path& dir : dirs) {
    SequenceFiles f;
    f.name = dir.filename().string();
    f.image_dir = dir;
    f.first_number = 1;
    f.groundtruth = dir / "groundtruth.txt";
    f.absence = {dir / "absence.label"};
    read_sequence(r, f);
  }
  return r.finish();
}

Dataset read_trackingnet(const std::string& root) {
  require_folder(root, "TrackingNet dataset");
  Reader r("trackingnet", "TrackingNet", root);
  std::error_code ec;
  std::vector<fs::path> chunks;  // TRAIN_0, TRAIN_1, ... or root itself
  if (fs::is_directory(fs::path(root) / "anno", ec)) {
    chunks.push_back(root);
  } else {
    for (const fs::path& dir : subdirs(root))
      if (fs::is_directory(dir / "anno", ec)) chunks.push_back(dir);
  }
  for (const fs::path& chunk : chunks) {
    std::vector<fs::path> annos;
    for (const fs::directory_entry& entry : fs::directory_iterator(chunk / "anno", ec))
      if (entry.path().extension() == ".txt" && entry.is_regular_file(ec)) annos.push_back(entry.path());
    sort_natural(&annos);
    for (const fs::path& anno : annos) {
      SequenceFiles f;
      f.name = anno.stem().string();
      f.image_dir = chunk / "frames" / f.name;
      f.first_number = 0;
      f.groundtruth = anno;
      read_sequence(r, f);
    }
  }
  return r.finish();
}

Dataset read_otb(const std::string& root) {
  require_folder(root, "OTB dataset");
  Reader r("otb", "OTB", root);
  std::vector<fs::path> dirs;
  if (!otb_groundtruths(root).empty())
    dirs.push_back(root);
  else
    dirs = subdirs(root);
  std::error_code ec;
  for (const fs::path& dir : dirs) {
    std::vector<fs::path> gts = otb_groundtruths(dir);
    if (gts.empty()) {
      r.problem(dir.string() + ": no groundtruth_rect.txt; not an OTB sequence, skipped");
      continue;
    }
    for (const fs::path& gt : gts) {
      SequenceFiles f;
      f.name = folder_name(dir);
      std::string target = gt.stem().string().substr(std::string("groundtruth_rect").size());  // "" or ".2"
      f.name += target;
      f.image_dir = fs::is_directory(dir / "img", ec) ? dir / "img" : dir;
      f.groundtruth = gt;
      f.one_based = true;
      read_sequence(r, f);
    }
  }
  return r.finish();
}

Dataset read_vot(const std::string& root) {
  require_folder(root, "VOT dataset");
  Reader r("vot", "VOT", root);
  std::error_code ec;
  std::vector<fs::path> dirs;
  if (fs::is_regular_file(fs::path(root) / "groundtruth.txt", ec))
    dirs.push_back(root);
  else if (!read_list(r, root, &dirs))
    dirs = subdirs(root);
  for (const fs::path& dir : dirs) {
    SequenceFiles f;
    f.name = folder_name(dir);
    f.image_dir = vot_images(dir);
    f.groundtruth = dir / "groundtruth.txt";
    read_sequence(r, f);
  }
  return r.finish();
}

Dataset read_coco(const std::string& annotations_json, const std::string& image_dir) {
  std::error_code ec;
  if (!fs::is_regular_file(annotations_json, ec)) throw Error(annotations_json + ": no such file (COCO annotations)");
  require_folder(image_dir, "COCO images");
  json doc;
  try {
    std::ifstream in(annotations_json, std::ios::binary);
    doc = json::parse(in);
  } catch (const json::exception& e) {
    throw Error(annotations_json + ": not valid JSON (" + e.what() + ")");
  }
  const json& cdoc = doc;
  auto images = cdoc.find("images"), annotations = cdoc.find("annotations");
  if (!cdoc.is_object() || images == cdoc.end() || !images->is_array() || annotations == cdoc.end() ||
      !annotations->is_array())
    throw Error(annotations_json + ": expected a COCO instances JSON with 'images' and 'annotations' arrays");

  Reader r("coco", "COCO", annotations_json + ":" + image_dir);
  const std::string& src = annotations_json;

  std::unordered_map<int64_t, std::string> file_of;  // image id -> file name
  for (size_t i = 0; i < images->size(); ++i) {
    const json& im = (*images)[i];
    if (!im.is_object() || !im.contains("id") || !im["id"].is_number_integer() || !im.contains("file_name") ||
        !im["file_name"].is_string()) {
      r.problem(src + ": images[" + std::to_string(i) + "]: no integer id or file_name");
      continue;
    }
    file_of[im["id"].get<int64_t>()] = im["file_name"].get<std::string>();
  }

  std::unordered_map<int64_t, bool> exists;  // one existence check per image, not per annotation
  int crowd = 0, tiny = 0;
  for (size_t i = 0; i < annotations->size(); ++i) {
    const json& a = (*annotations)[i];
    std::string entry = "annotations[" + std::to_string(i) + "]", where = src + ": " + entry;
    bool ok = a.is_object() && a.contains("image_id") && a["image_id"].is_number_integer() && a.contains("bbox") &&
              a["bbox"].is_array() && a["bbox"].size() == 4;
    for (size_t k = 0; ok && k < 4; ++k) ok = a["bbox"][k].is_number();
    if (!ok) {
      r.problem(where + ": no integer image_id or bbox [x,y,w,h]");
      continue;
    }
    if (a.contains("iscrowd") && ((a["iscrowd"].is_number() && a["iscrowd"].get<double>() != 0) ||
                                  (a["iscrowd"].is_boolean() && a["iscrowd"].get<bool>()))) {
      ++crowd;  // a crowd region is no single target to track
      continue;
    }
    const json& b = a["bbox"];
    Box box{b[0].get<double>(), b[1].get<double>(), b[2].get<double>(), b[3].get<double>()};
    if (!std::isfinite(box.x) || !std::isfinite(box.y) || !(box.w >= 10) || !(box.h >= 10) || !std::isfinite(box.w) ||
        !std::isfinite(box.h)) {
      ++tiny;  // too small to give a template worth learning from
      continue;
    }
    int64_t image_id = a["image_id"].get<int64_t>();
    auto file = file_of.find(image_id);
    if (file == file_of.end()) {
      r.problem(where + ": image_id " + std::to_string(image_id) + " not in images");
      continue;
    }
    std::string path = (fs::path(image_dir) / file->second).string();
    auto known = exists.find(image_id);
    if (known == exists.end()) known = exists.emplace(image_id, fs::is_regular_file(path, ec)).first;
    if (!known->second) {
      r.problem(path + ": missing image (" + entry + ")");
      continue;
    }
    TrainSequence seq;
    std::string id = a.contains("id") && a["id"].is_number_integer() ? std::to_string(a["id"].get<int64_t>())
                                                                       : "[" + std::to_string(i) + "]";
    seq.name = file->second + "#" + id;
    seq.frames = {path};
    seq.boxes = {box};
    seq.usable = {1};
    seq.still = true;
    r.keep(std::move(seq), 0);
  }
  if (tiny) r.summary(src + ": " + std::to_string(tiny) + " boxes smaller than 10 px (or not finite) skipped", tiny);
  if (crowd) r.summary(src + ": " + std::to_string(crowd) + " crowd annotations skipped", crowd);
  return r.finish();
}

Dataset read_dataset(const std::string& kind, const std::string& path) {
  std::string k = kind;
  std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (k == "lasot") return read_lasot(path);
  if (k == "got10k") return read_got10k(path);
  if (k == "trackingnet") return read_trackingnet(path);
  if (k == "otb") return read_otb(path);
  if (k == "vot") return read_vot(path);
  if (k == "coco") return read_coco_path(path);
  throw Error("dataset kind '" + kind + "': expected one of lasot, got10k, trackingnet, otb, vot, coco");
}

std::string format_report(const DatasetReport& r) {
  std::ostringstream out;
  out << r.name << ": " << r.sequences << " sequences, " << r.frames << " frames, " << r.usable_frames << " usable";
  if (r.absent) out << " (" << r.absent << " marked absent or occluded)";
  out << ", " << r.skipped << " broken entries skipped\n";
  size_t shown = std::min(r.problems.size(), kReportShown);
  for (size_t i = 0; i < shown; ++i) out << "  " << r.problems[i] << "\n";
  if (r.problems.size() > shown) {
    out << "  ... " << r.problems.size() - shown << " more problem lines";
    if (r.problems.size() >= kMaxProblems) out << " (only the first " << kMaxProblems << " are kept)";
    out << "\n";
  }
  return out.str();
}

}  // namespace lorat
