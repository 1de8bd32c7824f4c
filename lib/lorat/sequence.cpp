#include "sequence.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "error.h"

namespace fs = std::filesystem;

namespace lorat {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// from_chars, not strtod: a GStreamer application may have set a locale with a decimal comma.
bool parse_number(const std::string& token, double* out) {
  const char* first = token.data();
  const char* last = first + token.size();
  if (first != last && *first == '+') ++first;  // from_chars rejects a leading '+'
  auto [end, ec] = std::from_chars(first, last, *out);
  return ec == std::errc() && end == last && first != last;
}

// Splits "1,2,3,4", "1\t2\t3\t4", "1 2 3 4" or "1, 2,3 4" into numbers. Commas separate fields
// (so ",," is an empty, malformed field); runs of blanks separate fields too.
bool split_numbers(const std::string& line, std::vector<double>* out) {
  std::string part;
  std::istringstream parts(line);
  while (std::getline(parts, part, ',')) {
    std::istringstream words(part);
    std::string word;
    int count = 0;
    while (words >> word) {
      double v;
      if (!parse_number(word, &v)) return false;
      out->push_back(v);
      ++count;
    }
    if (count == 0) return false;
  }
  return !line.empty() && line.back() != ',';  // getline drops a trailing empty field
}

// A box from 4 (x,y,w,h) or 8 (polygon corners) values; NaN or empty boxes become w = h = 0.
Box to_box(const std::vector<double>& v, bool one_based) {
  for (double x : v)
    if (!std::isfinite(x)) return Box{};
  Box box;
  if (v.size() == 4) {
    box = {v[0], v[1], v[2], v[3]};
    if (one_based) {
      box.x -= 1;
      box.y -= 1;
    }
  } else {
    // VOT polygons are already 0-based; take the axis-aligned bounding box.
    double x1 = std::min({v[0], v[2], v[4], v[6]}), x2 = std::max({v[0], v[2], v[4], v[6]});
    double y1 = std::min({v[1], v[3], v[5], v[7]}), y2 = std::max({v[1], v[3], v[5], v[7]});
    box = Box::from_corners(x1, y1, x2, y2);
  }
  return box.valid() ? box : Box{};
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  if (!in || !(text << in.rdbuf())) throw Error(file.string() + ": cannot read");
  return text.str();
}

bool is_image(const fs::path& file) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

}  // namespace

std::vector<Box> parse_groundtruth(const std::string& text, const std::string& source, bool one_based) {
  std::vector<Box> boxes;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    line = trim(line);
    if (line.empty()) continue;
    std::vector<double> values;
    if (!split_numbers(line, &values) || (values.size() != 4 && values.size() != 8))
      throw Error(source + ":" + std::to_string(number) + ": expected 4 or 8 numbers, got '" + line + "'");
    boxes.push_back(to_box(values, one_based));
  }
  return boxes;
}

Box parse_box(const std::string& text) {
  const Error malformed("box '" + text + "': expected x,y,w,h");
  std::vector<double> v;
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    double value;
    if (!parse_number(trim(text.substr(start, comma - start)), &value) || !std::isfinite(value)) throw malformed;
    v.push_back(value);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (v.size() != 4) throw malformed;
  Box box{v[0], v[1], v[2], v[3]};
  if (!box.valid()) throw Error("box '" + text + "': width and height must be positive");
  return box;
}

Sequence load_sequence(const std::string& dir, bool require_groundtruth) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": no such sequence folder");

  Sequence seq;
  fs::path folder = fs::absolute(dir).lexically_normal();
  if (!folder.has_filename()) folder = folder.parent_path();  // "seq/" names "seq"
  seq.name = folder.filename().string();

  fs::path images = fs::path(dir) / "img";
  if (!fs::is_directory(images, ec)) images = dir;
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(images, ec))
    if (entry.is_regular_file(ec) && is_image(entry.path())) files.push_back(entry.path());
  if (ec) throw Error(images.string() + ": cannot list (" + ec.message() + ")");
  if (files.empty()) throw Error(dir + ": no images (.jpg, .png) found");
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
  for (const fs::path& f : files) seq.frames.push_back(f.string());

  // OTB names its 1-based file groundtruth_rect.txt; VOT uses groundtruth.txt, 0-based.
  fs::path otb = fs::path(dir) / "groundtruth_rect.txt";
  fs::path vot = fs::path(dir) / "groundtruth.txt";
  if (fs::is_regular_file(otb, ec))
    seq.groundtruth = parse_groundtruth(read_text(otb), otb.string(), true);
  else if (fs::is_regular_file(vot, ec))
    seq.groundtruth = parse_groundtruth(read_text(vot), vot.string(), false);
  else if (require_groundtruth)
    throw Error(dir + ": no ground truth (groundtruth_rect.txt or groundtruth.txt)");
  return seq;
}

std::vector<Box> parse_boxes(const std::string& text) {
  std::vector<Box> boxes;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(';', start);
    if (end == std::string::npos) end = text.size();
    std::string part = text.substr(start, end - start);
    if (part.find_first_not_of(" \t") != std::string::npos) boxes.push_back(parse_box(part));
    start = end + 1;
  }
  return boxes;
}

}  // namespace lorat
