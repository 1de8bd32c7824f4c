// Tracking sequences on disk: an image folder with OTB or VOT ground truth.
#pragma once
#include <string>
#include <vector>

#include "box.h"

namespace lorat {

// Parses ground truth text, one box per line: 4 values "x,y,w,h" (OTB: 1-based, separated by
// commas, tabs or spaces) or 8 values (VOT polygon: the axis-aligned bounding box of the four
// corners is taken). one_based subtracts 1 from x and y (OTB convention). Lines that hold
// "NaN"/"nan" or 0 size stay in the list as invalid boxes (w = h = 0) so indices keep matching
// frames. Throws lorat::Error naming source and line number on a malformed line.
std::vector<Box> parse_groundtruth(const std::string& text, const std::string& source, bool one_based);

// Parses "x,y,w,h" (0-based pixels); throws lorat::Error with a one-line message otherwise.
Box parse_box(const std::string& text);
// Parses "x,y,w,h;x,y,w,h;..." (lorattrack's init-box); empty parts are ignored.
std::vector<Box> parse_boxes(const std::string& text);

struct Sequence {
  std::string name;
  std::vector<std::string> frames;   // image paths in frame order
  std::vector<Box> groundtruth;      // 0-based; may be shorter than frames
};

// A folder with img/ (or the images directly) and groundtruth_rect.txt (OTB, 1-based) or
// groundtruth.txt (VOT: 8 values, or 4 values treated as 0-based). Images are .jpg/.jpeg/.png,
// sorted by name. require_groundtruth: throw lorat::Error when no ground-truth file is found.
Sequence load_sequence(const std::string& dir, bool require_groundtruth);

}  // namespace lorat
