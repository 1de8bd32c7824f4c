// Readers for the training-set layouts people keep on disk (LaSOT, GOT-10k, TrackingNet, OTB, VOT,
// COCO). Only paths and boxes are read; images are checked for existence, never decoded.
// A broken entry (bad line, empty box, missing image, ...) makes that frame unusable and is counted
// and reported; only a missing root or a dataset with no usable sequence throws lorat::Error.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "box.h"

namespace lorat {

struct TrainSequence {
  std::string name;                 // e.g. "airplane-1", "GOT-10k_Train_000001"
  std::vector<std::string> frames;  // image paths, frame order
  std::vector<Box> boxes;           // 0-based x,y,w,h per frame (same length as frames)
  // 1 = the target is visible with a valid box in this frame;
  // 0 = absent/occluded/out of view/bad line/missing image
  std::vector<uint8_t> usable;
  bool still = false;               // COCO: one image per "sequence" (one object), pairs come by augmentation
};

struct DatasetReport {
  std::string name;        // dataset kind + root
  int sequences = 0, frames = 0, usable_frames = 0;  // of the sequences kept
  // Broken entries: bad lines, empty boxes, missing images, sequences with < 2 usable frames,
  // COCO crowd/tiny boxes, ...
  int skipped = 0;
  std::vector<std::string> problems;  // one line each, "<file>:<line>: <what>", the first 20 kept
  int absent = 0;          // frames the dataset itself marks absent/occluded/out of view (normal, not broken)
};

struct Dataset {
  std::string kind;
  std::string root;
  std::vector<TrainSequence> sequences;
  DatasetReport report;
};

// root/<class>/<class>-<n>/{img/00000001.jpg..., groundtruth.txt (x,y,w,h 1-based),
// full_occlusion.txt, out_of_view.txt (comma-separated 0/1 on one line)}
Dataset read_lasot(const std::string& root);
// split_dir/list.txt (sequence names; if missing, all sub-folders),
// split_dir/<seq>/{00000001.jpg..., groundtruth.txt (x,y,w,h 0-based), absence.label (0/1 per line)}
Dataset read_got10k(const std::string& split_dir);
// root/TRAIN_<n>/{frames/<seq>/<i>.jpg (i from 0), anno/<seq>.txt (x,y,w,h 0-based)}; root may
// also be one TRAIN_<n> folder.
Dataset read_trackingnet(const std::string& root);
// One OTB sequence folder or a folder of them: img/*.jpg, groundtruth_rect.txt (1-based; comma, tab
// or space); groundtruth_rect.<k>.txt gives one sequence "<name>.<k>" per target.
Dataset read_otb(const std::string& root);
// One VOT sequence or a folder of them (optional list.txt): color/, img/ or the folder itself,
// groundtruth.txt with 4 values or 8 (rotated polygon -> axis-aligned box), 0-based.
Dataset read_vot(const std::string& root);
// COCO instances JSON: one still TrainSequence per non-crowd annotation with w, h >= 10 px whose
// image exists in image_dir.
Dataset read_coco(const std::string& annotations_json, const std::string& image_dir);

// kind: lasot, got10k, trackingnet, otb, vot, coco. For coco, path is "annotations.json:image_dir"
// or a folder with annotations/instances_<split>.json and images in <folder>/<split>/ (all splits
// found are read). Unknown kind -> lorat::Error listing the kinds.
Dataset read_dataset(const std::string& kind, const std::string& path);

// A few human lines: the counts, then the first problems.
std::string format_report(const DatasetReport& r);

}  // namespace lorat
