// Training-set readers: small samples of each layout (images are dummy bytes: the readers only
// check that files exist), their quirks, broken entries, and the real sequences in ../shared.
#include "lorat/datasets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include "lorat/error.h"
#include "lorat/sequence.h"
#include "test_util.h"

namespace fs = std::filesystem;
using lorat::Box;
using lorat::Dataset;
using lorat::TrainSequence;

namespace {

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

// A fresh folder per test, under this process's temp dir.
fs::path sample(const std::string& name) {
  fs::path dir = fs::path(lorat_test::temp_dir()) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void touch(const fs::path& file, const std::string& text = "x") {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

// Images first..last named with zero padding to width (0 = none).
void images(const fs::path& dir, int first, int last, int width, const std::string& ext = ".jpg") {
  for (int i = first; i <= last; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%0*d", width, i);
    touch(dir / (name + ext));
  }
}

void expect_box(const Box& b, double x, double y, double w, double h) {
  EXPECT_DOUBLE_EQ(b.x, x);
  EXPECT_DOUBLE_EQ(b.y, y);
  EXPECT_DOUBLE_EQ(b.w, w);
  EXPECT_DOUBLE_EQ(b.h, h);
}

std::vector<std::string> names(const Dataset& d) {
  std::vector<std::string> out;
  for (const TrainSequence& s : d.sequences) out.push_back(s.name);
  return out;
}

const TrainSequence& find(const Dataset& d, const std::string& name) {
  for (const TrainSequence& s : d.sequences)
    if (s.name == name) return s;
  throw std::runtime_error("no sequence " + name);
}

// True when some problem line contains part.
bool has_problem(const Dataset& d, const std::string& part) {
  for (const std::string& p : d.report.problems)
    if (p.find(part) != std::string::npos) return true;
  return false;
}

std::string problems(const Dataset& d) {
  std::string out;
  for (const std::string& p : d.report.problems) out += p + "\n";
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const lorat::Error& e) {
    return e.what();
  }
  return "";
}

std::string filename(const std::string& path) { return fs::path(path).filename().string(); }

using Flags = std::vector<uint8_t>;

void expect_consistent(const Dataset& d) {
  int frames = 0, usable = 0;
  for (const TrainSequence& s : d.sequences) {
    EXPECT_EQ(s.frames.size(), s.boxes.size()) << s.name;
    EXPECT_EQ(s.frames.size(), s.usable.size()) << s.name;
    frames += int(s.frames.size());
    for (size_t i = 0; i < s.usable.size(); ++i) {
      usable += s.usable[i];
      if (s.usable[i]) {
        EXPECT_TRUE(s.boxes[i].valid() && fs::exists(s.frames[i])) << s.name << " frame " << i;
      }
    }
  }
  EXPECT_EQ(d.report.sequences, int(d.sequences.size()));
  EXPECT_EQ(d.report.frames, frames);
  EXPECT_EQ(d.report.usable_frames, usable);
  EXPECT_LE(d.report.problems.size(), 20u);
}

}  // namespace

// ---------- LaSOT

TEST(LaSOT, OcclusionAndOutOfView) {
  fs::path root = sample("lasot");
  fs::path a1 = root / "airplane" / "airplane-1";
  images(a1 / "img", 1, 5, 8);
  touch(a1 / "groundtruth.txt", "11,21,30,40\n12,22,30,40\n13,23,30,40\n0,0,0,0\n15,25,30,40\n");
  touch(a1 / "full_occlusion.txt", "0,0,1,0,0");
  touch(a1 / "out_of_view.txt", "0,0,0,1,0\n");
  for (std::string seq : {"airplane/airplane-2", "airplane/airplane-10", "bear/bear-1"}) {
    images(root / seq / "img", 1, 3, 8);
    touch(root / seq / "groundtruth.txt", "1,1,10,10\n2,2,10,10\n3,3,10,10\n");
    touch(root / seq / "full_occlusion.txt", "0,0,0");
    touch(root / seq / "out_of_view.txt", "0,0,0");
  }
  touch(root / "training_set.txt", "airplane-1\n");  // a file at class level is not a class

  Dataset d = lorat::read_lasot(root.string());
  expect_consistent(d);
  EXPECT_EQ(d.kind, "lasot");
  EXPECT_EQ(names(d), (std::vector<std::string>{"airplane-1", "airplane-2", "airplane-10", "bear-1"}));
  const TrainSequence& s = find(d, "airplane-1");
  ASSERT_EQ(s.frames.size(), 5u);
  EXPECT_EQ(filename(s.frames[0]), "00000001.jpg");
  EXPECT_EQ(filename(s.frames[4]), "00000005.jpg");
  expect_box(s.boxes[0], 10, 20, 30, 40);  // 1-based on disk
  EXPECT_EQ(s.usable, (Flags{1, 1, 0, 0, 1}));  // frame 3 occluded, frame 4 out of view (its 0 box is no problem)
  EXPECT_FALSE(s.still);
  EXPECT_EQ(d.report.sequences, 4);
  EXPECT_EQ(d.report.frames, 14);
  EXPECT_EQ(d.report.usable_frames, 12);
  EXPECT_EQ(d.report.absent, 2);
  EXPECT_EQ(d.report.skipped, 0) << problems(d);
  EXPECT_TRUE(d.report.problems.empty()) << problems(d);
  EXPECT_CONTAINS(d.report.name, root.string());
}

TEST(LaSOT, BrokenEntries) {
  fs::path root = sample("lasot_broken");
  fs::path a1 = root / "cat" / "cat-1";
  images(a1 / "img", 1, 6, 8);
  fs::remove(a1 / "img" / "00000003.jpg");
  touch(a1 / "groundtruth.txt",
        "1,1,10,10\n"    // 1 ok
        "1,1,x,10\n"     // 2 bad line
        "1,1,10,10\n"    // 3 image missing
        "1,1,0,0\n"      // 4 empty box, not marked absent
        "0,0,0,0\n"      // 5 occluded
        "1,1,10,10\n"    // 6 ok
        "1,1,10,10\n");  // 7 past the last image
  touch(a1 / "full_occlusion.txt", "0,0,0,0,1,0");
  // out_of_view.txt missing: reported, frames taken as visible
  fs::path a2 = root / "cat" / "cat-2";  // one usable frame: dropped
  images(a2 / "img", 1, 2, 8);
  touch(a2 / "groundtruth.txt", "1,1,10,10\nNaN,NaN,NaN,NaN\n");
  touch(a2 / "full_occlusion.txt", "0,0");
  touch(a2 / "out_of_view.txt", "0,0");
  fs::create_directories(root / "cat" / "cat-3" / "img");  // no ground truth at all

  Dataset d = lorat::read_lasot(root.string());
  expect_consistent(d);
  ASSERT_EQ(names(d), (std::vector<std::string>{"cat-1"}));
  const TrainSequence& s = d.sequences[0];
  ASSERT_EQ(s.frames.size(), 6u);
  EXPECT_EQ(filename(s.frames[2]), "00000003.jpg");  // the missing image keeps its place
  EXPECT_FALSE(fs::exists(s.frames[2]));
  expect_box(s.boxes[5], 0, 0, 10, 10);  // the frames after a gap keep their own boxes
  EXPECT_EQ(s.usable, (Flags{1, 0, 0, 0, 0, 1}));
  EXPECT_EQ(d.report.absent, 1);
  // bad line, missing image, empty box, 1 extra line; cat-2: empty box + dropped; cat-3: no gt
  EXPECT_EQ(d.report.skipped, 7) << problems(d);
  std::string gt = (a1 / "groundtruth.txt").string();
  EXPECT_TRUE(has_problem(d, gt + ":2: expected 4 or 8 numbers, got '1,1,x,10'")) << problems(d);
  EXPECT_TRUE(has_problem(d, (a1 / "img" / "00000003.jpg").string() + ": missing image")) << problems(d);
  EXPECT_TRUE(has_problem(d, gt + ":4: empty box '1,1,0,0'")) << problems(d);
  EXPECT_TRUE(has_problem(d, gt + ":7: 1 lines past the last image")) << problems(d);
  EXPECT_TRUE(has_problem(d, "out_of_view.txt: missing")) << problems(d);
  EXPECT_TRUE(has_problem(d, (a2 / "groundtruth.txt").string() + ":2: empty box 'NaN,NaN,NaN,NaN'")) << problems(d);
  EXPECT_TRUE(has_problem(d, "1 usable frames of 2; sequence dropped")) << problems(d);
  EXPECT_TRUE(has_problem(d, "cat-3/groundtruth.txt: missing or unreadable")) << problems(d);
}

// ---------- GOT-10k

namespace {
void got_sequence(const fs::path& dir, int frames) {
  images(dir, 1, frames, 8);
  std::string gt, absence;
  for (int i = 0; i < frames; ++i) {
    gt += std::to_string(10 + i) + ".5,20.0000,30.25,40.0000\n";
    absence += "0\n";
  }
  touch(dir / "groundtruth.txt", gt);
  touch(dir / "absence.label", absence);
  touch(dir / "cover.label", absence);
  touch(dir / "meta_info.ini", "[METAINFO]\n");
}
}  // namespace

TEST(GOT10k, ListAndAbsence) {
  fs::path split = sample("got10k") / "train";
  got_sequence(split / "GOT-10k_Train_000001", 4);
  touch(split / "GOT-10k_Train_000001" / "absence.label", "0\n1\n0\n0\n");
  got_sequence(split / "GOT-10k_Train_000002", 3);
  got_sequence(split / "GOT-10k_Train_000003", 3);  // not in list.txt
  touch(split / "list.txt", "GOT-10k_Train_000002\nGOT-10k_Train_000001\n");

  Dataset d = lorat::read_got10k(split.string());
  expect_consistent(d);
  EXPECT_EQ(names(d), (std::vector<std::string>{"GOT-10k_Train_000002", "GOT-10k_Train_000001"}));  // list order
  const TrainSequence& s = find(d, "GOT-10k_Train_000001");
  ASSERT_EQ(s.frames.size(), 4u);
  EXPECT_EQ(filename(s.frames[3]), "00000004.jpg");
  expect_box(s.boxes[0], 10.5, 20, 30.25, 40);  // 0-based: not shifted
  EXPECT_EQ(s.usable, (Flags{1, 0, 1, 1}));
  EXPECT_EQ(d.report.absent, 1);
  EXPECT_EQ(d.report.skipped, 0) << problems(d);
  EXPECT_TRUE(d.report.problems.empty()) << problems(d);

  // Without list.txt every sub-folder is a sequence.
  fs::remove(split / "list.txt");
  EXPECT_EQ(lorat::read_got10k(split.string()).sequences.size(), 3u);
}

TEST(GOT10k, BrokenEntries) {
  fs::path split = sample("got10k_broken");
  got_sequence(split / "a", 5);
  fs::remove(split / "a" / "00000001.jpg");  // the first frame: the numbering still starts at 1
  touch(split / "a" / "absence.label", "0\nx\n0\n0\n0\n");
  got_sequence(split / "b", 3);
  touch(split / "b" / "groundtruth.txt", "1,2,3,4\n1,2,3,4\n");  // shorter than the images
  touch(split / "list.txt", "a\n\nb\nGOT-10k_Train_009999\n");

  Dataset d = lorat::read_got10k(split.string());
  expect_consistent(d);
  ASSERT_EQ(names(d), (std::vector<std::string>{"a", "b"}));
  const TrainSequence& a = d.sequences[0];
  ASSERT_EQ(a.frames.size(), 5u);
  EXPECT_EQ(filename(a.frames[0]), "00000001.jpg");
  expect_box(a.boxes[2], 12.5, 20, 30.25, 40);  // no shift after the missing first image
  EXPECT_EQ(a.usable, (Flags{0, 0, 1, 1, 1}));
  EXPECT_EQ(d.sequences[1].usable, (Flags{1, 1, 0}));
  EXPECT_EQ(d.report.skipped, 4) << problems(d);  // missing folder, missing image, bad flag, 1 frame without gt
  EXPECT_TRUE(has_problem(d, (split / "list.txt").string() + ":4: no folder 'GOT-10k_Train_009999'")) << problems(d);
  EXPECT_TRUE(has_problem(d, "00000001.jpg: missing image")) << problems(d);
  EXPECT_TRUE(has_problem(d, (split / "a" / "absence.label").string() + ":2: value 2 is 'x', expected 0 or 1"))
      << problems(d);
  EXPECT_TRUE(has_problem(d, "no ground truth for the last 1 of 3 frames")) << problems(d);
}

// ---------- TrackingNet

namespace {
void trackingnet_sequence(const fs::path& chunk, const std::string& name, int frames) {
  images(chunk / "frames" / name, 0, frames - 1, 0);
  std::string gt;
  for (int i = 0; i < frames; ++i) gt += std::to_string(i) + ",5,10,20\n";
  touch(chunk / "anno" / (name + ".txt"), gt);
}
}  // namespace

TEST(TrackingNet, NumericFrameOrderAndChunks) {
  fs::path root = sample("trackingnet");
  trackingnet_sequence(root / "TRAIN_0", "--abc_0", 12);
  trackingnet_sequence(root / "TRAIN_1", "seqB", 3);
  trackingnet_sequence(root / "TRAIN_10", "seqC", 3);
  trackingnet_sequence(root / "TRAIN_2", "seqD", 3);

  Dataset d = lorat::read_trackingnet(root.string());
  expect_consistent(d);
  EXPECT_EQ(names(d), (std::vector<std::string>{"--abc_0", "seqB", "seqD", "seqC"}));  // TRAIN_2 before TRAIN_10
  const TrainSequence& s = d.sequences[0];
  ASSERT_EQ(s.frames.size(), 12u);
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(filename(s.frames[i]), std::to_string(i) + ".jpg");  // 2.jpg before 10.jpg
    EXPECT_DOUBLE_EQ(s.boxes[i].x, i);                                // 0-based: not shifted
  }
  EXPECT_EQ(d.report.usable_frames, 21);
  EXPECT_EQ(d.report.skipped, 0) << problems(d);

  // One chunk folder read directly.
  EXPECT_EQ(names(lorat::read_trackingnet((root / "TRAIN_0").string())), (std::vector<std::string>{"--abc_0"}));
}

TEST(TrackingNet, BrokenEntries) {
  fs::path root = sample("trackingnet_broken");
  trackingnet_sequence(root / "TRAIN_0", "ok", 5);
  fs::remove(root / "TRAIN_0" / "frames" / "ok" / "2.jpg");
  touch(root / "TRAIN_0" / "anno" / "noframes.txt", "1,2,3,4\n");
  trackingnet_sequence(root / "TRAIN_0", "negative", 3);
  touch(root / "TRAIN_0" / "anno" / "negative.txt", "1,2,3,4\n1,2,-3,4\n1,2,3,4\n");

  Dataset d = lorat::read_trackingnet(root.string());
  expect_consistent(d);
  ASSERT_EQ(names(d), (std::vector<std::string>{"negative", "ok"}));
  EXPECT_EQ(d.sequences[0].usable, (Flags{1, 0, 1}));
  EXPECT_EQ(d.sequences[1].usable, (Flags{1, 1, 0, 1, 1}));
  EXPECT_EQ(d.report.skipped, 3) << problems(d);
  EXPECT_TRUE(has_problem(d, "negative.txt:2: empty box '1,2,-3,4'")) << problems(d);
  EXPECT_TRUE(has_problem(d, (root / "TRAIN_0" / "frames" / "ok" / "2.jpg").string() + ": missing image"))
      << problems(d);
  EXPECT_TRUE(has_problem(d, (root / "TRAIN_0" / "frames" / "noframes").string() + ": no such image folder"))
      << problems(d);
}

// ---------- OTB

TEST(OTB, SeparatorsShortGroundTruthAndNumbering) {
  fs::path root = sample("otb");
  images(root / "TabSeq" / "img", 5, 10, 4);  // 0005.jpg .. 0010.jpg
  touch(root / "TabSeq" / "groundtruth_rect.txt", "11\t21\t30\t40\n12\t22\t30\t40\n13\t23\t30\t40\n14\t24\t30\t40\n");
  images(root / "CommaSeq" / "img", 1, 3, 4);
  touch(root / "CommaSeq" / "groundtruth_rect.txt", "1,1,10,10\r\n2,2,10,10\r\n3,3,10,10\r\n");
  images(root / "SpaceSeq" / "img", 1, 3, 4);
  touch(root / "SpaceSeq" / "groundtruth_rect.txt", "1 1 10 10\n2  2 10 10\n3 3 10 10\n\n");
  images(root / "Jogging" / "img", 1, 3, 4);
  touch(root / "Jogging" / "groundtruth_rect.1.txt", "1,1,10,10\n1,1,10,10\n1,1,10,10\n");
  touch(root / "Jogging" / "groundtruth_rect.2.txt", "5,5,10,10\n5,5,10,10\n5,5,10,10\n");

  Dataset d = lorat::read_otb(root.string());
  expect_consistent(d);
  EXPECT_EQ(names(d), (std::vector<std::string>{"CommaSeq", "Jogging.1", "Jogging.2", "SpaceSeq", "TabSeq"}));
  const TrainSequence& tab = find(d, "TabSeq");
  ASSERT_EQ(tab.frames.size(), 6u);
  EXPECT_EQ(filename(tab.frames[0]), "0005.jpg");
  expect_box(tab.boxes[0], 10, 20, 30, 40);  // 1-based on disk, aligned to the first image
  EXPECT_EQ(tab.usable, (Flags{1, 1, 1, 1, 0, 0}));
  expect_box(find(d, "CommaSeq").boxes[2], 2, 2, 10, 10);
  expect_box(find(d, "SpaceSeq").boxes[1], 1, 1, 10, 10);
  expect_box(find(d, "Jogging.2").boxes[0], 4, 4, 10, 10);
  EXPECT_EQ(d.report.skipped, 2) << problems(d);  // TabSeq's 2 frames without ground truth
  EXPECT_TRUE(has_problem(d, "no ground truth for the last 2 of 6 frames")) << problems(d);

  // One sequence folder (with or without a trailing slash) is a dataset of one.
  EXPECT_EQ(names(lorat::read_otb((root / "CommaSeq").string() + "/")), (std::vector<std::string>{"CommaSeq"}));
  // read_dataset dispatches by kind, case-insensitively.
  EXPECT_EQ(lorat::read_dataset("OTB", root.string()).sequences.size(), 5u);
}

TEST(OTB, BrokenEntries) {
  fs::path root = sample("otb_broken");
  images(root / "Seq" / "img", 1, 5, 4);
  fs::remove(root / "Seq" / "img" / "0002.jpg");  // a gap in the numbering
  touch(root / "Seq" / "groundtruth_rect.txt", "1,1,10,10\n1,1,10,10\n1;1;10;10\nNaN,NaN,NaN,NaN\n1,1,10,10\n");
  fs::create_directories(root / "notes");

  Dataset d = lorat::read_otb(root.string());
  expect_consistent(d);
  ASSERT_EQ(d.sequences.size(), 1u);
  EXPECT_EQ(filename(d.sequences[0].frames[1]), "0002.jpg");
  EXPECT_EQ(d.sequences[0].usable, (Flags{1, 0, 0, 0, 1}));
  EXPECT_EQ(d.report.skipped, 4) << problems(d);
  std::string gt = (root / "Seq" / "groundtruth_rect.txt").string();
  EXPECT_TRUE(has_problem(d, "0002.jpg: missing image")) << problems(d);
  EXPECT_TRUE(has_problem(d, gt + ":3: expected 4 or 8 numbers, got '1;1;10;10'")) << problems(d);
  EXPECT_TRUE(has_problem(d, gt + ":4: empty box")) << problems(d);
  EXPECT_TRUE(has_problem(d, (root / "notes").string() + ": no groundtruth_rect.txt")) << problems(d);
}

TEST(OTB, OnlyTheFirst20ProblemsAreKept) {
  fs::path root = sample("otb_many");
  images(root / "Seq" / "img", 1, 30, 4);
  std::string gt = "1,1,10,10\n1,1,10,10\n";
  for (int i = 0; i < 28; ++i) gt += "bad\n";
  touch(root / "Seq" / "groundtruth_rect.txt", gt);
  Dataset d = lorat::read_otb(root.string());
  EXPECT_EQ(d.report.skipped, 28);
  EXPECT_EQ(d.report.problems.size(), 20u);
  EXPECT_CONTAINS(d.report.problems[0], "groundtruth_rect.txt:3: ");
  std::string text = lorat::format_report(d.report);
  EXPECT_CONTAINS(text, "1 sequences, 30 frames, 2 usable, 28 broken entries skipped");
  EXPECT_CONTAINS(text, "groundtruth_rect.txt:3: expected 4 or 8 numbers, got 'bad'");
  EXPECT_CONTAINS(text, "15 more problem lines (only the first 20 are kept)");
}

// ---------- VOT

TEST(VOT, PolygonsListAndImageFolders) {
  fs::path root = sample("vot");
  images(root / "ball" / "color", 1, 3, 8);
  touch(root / "ball" / "groundtruth.txt",
        "291.827,203.603,396.382,264.289,442.173,185.397,337.618,124.711\n"
        "0,0,10,0,10,5,0,5\n"
        "1,1,11,1,11,6,1,6\n");
  images(root / "flat", 1, 3, 8);  // images in the folder itself, 4 values: 0-based as given
  touch(root / "flat" / "groundtruth.txt", "1,2,3,4\n1,2,3,4\n1,2,3,4\n");
  images(root / "unlisted" / "img", 1, 3, 8);
  touch(root / "unlisted" / "groundtruth.txt", "1,2,3,4\n1,2,3,4\n1,2,3,4\n");
  touch(root / "list.txt", "ball\nflat\n");

  Dataset d = lorat::read_vot(root.string());
  expect_consistent(d);
  EXPECT_EQ(names(d), (std::vector<std::string>{"ball", "flat"}));
  const TrainSequence& ball = d.sequences[0];
  expect_box(ball.boxes[0], 291.827, 124.711, 442.173 - 291.827, 264.289 - 124.711);
  expect_box(ball.boxes[1], 0, 0, 10, 5);
  EXPECT_EQ(filename(ball.frames[0]), "00000001.jpg");
  EXPECT_EQ(fs::path(ball.frames[0]).parent_path().filename(), "color");
  expect_box(d.sequences[1].boxes[0], 1, 2, 3, 4);
  EXPECT_EQ(d.report.usable_frames, 6);
  EXPECT_EQ(d.report.skipped, 0) << problems(d);

  // Without list.txt: every sub-folder; one sequence folder alone: itself.
  fs::remove(root / "list.txt");
  EXPECT_EQ(names(lorat::read_vot(root.string())), (std::vector<std::string>{"ball", "flat", "unlisted"}));
  EXPECT_EQ(names(lorat::read_vot((root / "ball").string())), (std::vector<std::string>{"ball"}));
}

TEST(VOT, BrokenEntries) {
  fs::path root = sample("vot_broken");
  images(root / "s" / "img", 1, 4, 8);
  touch(root / "s" / "groundtruth.txt",
        "0,0,10,0,10,5,0,5\n"
        "m1,2,3,4,5\n"          // a VOT2020 mask line: not a box
        "1,1,1,1,1,1,1,1\n"     // a polygon with no area
        "0,0,10,0,10,5,0,5\n");
  touch(root / "list.txt", "s\nmissing\n");

  Dataset d = lorat::read_vot(root.string());
  expect_consistent(d);
  EXPECT_EQ(d.sequences[0].usable, (Flags{1, 0, 0, 1}));
  EXPECT_EQ(d.report.skipped, 3) << problems(d);
  std::string gt = (root / "s" / "groundtruth.txt").string();
  EXPECT_TRUE(has_problem(d, gt + ":2: expected 4 or 8 numbers, got 'm1,2,3,4,5'")) << problems(d);
  EXPECT_TRUE(has_problem(d, gt + ":3: empty box '1,1,1,1,1,1,1,1'")) << problems(d);
  EXPECT_TRUE(has_problem(d, "list.txt:2: no folder 'missing'")) << problems(d);
}

// ---------- COCO

namespace {
const char* kCocoJson = R"({
  "images": [
    {"id": 1, "file_name": "a.jpg", "width": 100, "height": 100},
    {"id": 2, "file_name": "b.jpg", "width": 100, "height": 100},
    {"id": 3, "file_name": "c.jpg", "width": 100, "height": 100},
    {"id": 4, "file_name": "d.jpg", "width": 100, "height": 100}
  ],
  "annotations": [
    {"id": 10, "image_id": 1, "bbox": [5, 6, 20, 30], "iscrowd": 0, "area": 600, "category_id": 1},
    {"id": 11, "image_id": 1, "bbox": [0, 0, 50, 50], "iscrowd": 1, "area": 2500},
    {"id": 12, "image_id": 2, "bbox": [1, 1, 5.5, 40], "iscrowd": 0, "area": 220},
    {"id": 13, "image_id": 4, "bbox": [1, 1, 20, 20], "iscrowd": 0},
    {"id": 14, "image_id": 3, "bbox": [2.5, 3, 40, 50]},
    {"id": 15, "image_id": 99, "bbox": [1, 1, 20, 20], "iscrowd": 0},
    {"id": 16, "image_id": 3, "bbox": [1, 2, 3], "iscrowd": 0}
  ],
  "categories": [{"id": 1, "name": "thing"}]
})";

fs::path coco_sample(const std::string& name) {
  fs::path root = sample(name);
  for (std::string f : {"a.jpg", "b.jpg", "c.jpg"}) touch(root / "val" / f);  // d.jpg is missing
  touch(root / "annotations" / "instances_val.json", kCocoJson);
  return root;
}
}  // namespace

TEST(COCO, StillImagesAndSkippedAnnotations) {
  fs::path root = coco_sample("coco");
  std::string json = (root / "annotations" / "instances_val.json").string();
  Dataset d = lorat::read_coco(json, (root / "val").string());
  expect_consistent(d);
  EXPECT_EQ(names(d), (std::vector<std::string>{"a.jpg#10", "c.jpg#14"}));
  for (const TrainSequence& s : d.sequences) {
    EXPECT_TRUE(s.still);
    EXPECT_EQ(s.frames.size(), 1u);
    EXPECT_EQ(s.usable, (Flags{1}));
  }
  expect_box(d.sequences[0].boxes[0], 5, 6, 20, 30);
  expect_box(d.sequences[1].boxes[0], 2.5, 3, 40, 50);
  EXPECT_EQ(d.sequences[1].frames[0], (root / "val" / "c.jpg").string());
  EXPECT_EQ(d.report.skipped, 5) << problems(d);  // crowd, tiny, missing image, unknown image, bad bbox
  EXPECT_EQ(d.report.problems[0], json + ": 1 crowd annotations skipped");
  EXPECT_EQ(d.report.problems[1], json + ": 1 boxes smaller than 10 px (or not finite) skipped");
  EXPECT_TRUE(has_problem(d, (root / "val" / "d.jpg").string() + ": missing image (annotations[3])")) << problems(d);
  EXPECT_TRUE(has_problem(d, json + ": annotations[5]: image_id 99 not in images")) << problems(d);
  EXPECT_TRUE(has_problem(d, json + ": annotations[6]: no integer image_id or bbox")) << problems(d);

  // read_dataset: "annotations.json:image_dir", or the COCO folder layout.
  EXPECT_EQ(lorat::read_dataset("coco", json + ":" + (root / "val").string()).sequences.size(), 2u);
  touch(root / "annotations" / "instances_train.json", kCocoJson);  // its train/ images are not there
  Dataset folder = lorat::read_dataset("coco", root.string());
  EXPECT_EQ(folder.kind, "coco");
  EXPECT_EQ(folder.sequences.size(), 2u);
  EXPECT_TRUE(has_problem(folder, (root / "train").string() + ": no such folder")) << problems(folder);
}

TEST(COCO, Errors) {
  fs::path root = coco_sample("coco_errors");
  std::string images = (root / "val").string();
  std::string bad = (root / "bad.json").string();
  touch(bad, "{\"images\": [");
  EXPECT_CONTAINS(error_of([&] { lorat::read_coco(bad, images); }), bad + ": not valid JSON");
  touch(bad, "{\"images\": []}");
  EXPECT_CONTAINS(error_of([&] { lorat::read_coco(bad, images); }), "'images' and 'annotations' arrays");
  touch(bad, "{\"images\": [], \"annotations\": []}");
  EXPECT_CONTAINS(error_of([&] { lorat::read_coco(bad, images); }), "no usable COCO sequences");
  std::string missing = (root / "nope.json").string();
  EXPECT_EQ(error_of([&] { lorat::read_coco(missing, images); }), missing + ": no such file (COCO annotations)");
  EXPECT_CONTAINS(error_of([&] { lorat::read_dataset("coco", (root / "val").string()); }),
                  "no annotations/instances_*.json found");
}

// ---------- errors and the report

TEST(Datasets, MissingOrEmptyRoots) {
  std::string missing = (fs::path(lorat_test::temp_dir()) / "no_such_dataset").string();
  EXPECT_EQ(error_of([&] { lorat::read_lasot(missing); }), missing + ": no such folder (LaSOT dataset)");
  EXPECT_EQ(error_of([&] { lorat::read_got10k(missing); }), missing + ": no such folder (GOT-10k split)");
  EXPECT_EQ(error_of([&] { lorat::read_trackingnet(missing); }), missing + ": no such folder (TrackingNet dataset)");
  EXPECT_EQ(error_of([&] { lorat::read_otb(missing); }), missing + ": no such folder (OTB dataset)");
  EXPECT_EQ(error_of([&] { lorat::read_vot(missing); }), missing + ": no such folder (VOT dataset)");

  std::string empty = sample("empty_dataset").string();
  for (std::string kind : {"lasot", "got10k", "trackingnet", "otb", "vot"}) {
    std::string e = error_of([&] { lorat::read_dataset(kind, empty); });
    EXPECT_CONTAINS(e, empty + ": no usable ");
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }

  // Every sequence broken: an error that names the first problem.
  fs::path root = sample("all_broken");
  images(root / "Seq" / "img", 1, 2, 4);
  touch(root / "Seq" / "groundtruth_rect.txt", "bad\nbad\n");
  EXPECT_CONTAINS(error_of([&] { lorat::read_otb(root.string()); }), "first problem: ");

  EXPECT_EQ(error_of([&] { lorat::read_dataset("imagenet", empty); }),
            "dataset kind 'imagenet': expected one of lasot, got10k, trackingnet, otb, vot, coco");
}

TEST(Datasets, FormatReport) {
  lorat::DatasetReport r;
  r.name = "lasot /data/LaSOT";
  r.sequences = 2;
  r.frames = 10;
  r.usable_frames = 7;
  r.absent = 2;
  r.skipped = 1;
  r.problems = {"gt.txt:3: expected 4 or 8 numbers, got 'x'"};
  EXPECT_EQ(lorat::format_report(r),
            "lasot /data/LaSOT: 2 sequences, 10 frames, 7 usable (2 marked absent or occluded), "
            "1 broken entries skipped\n"
            "  gt.txt:3: expected 4 or 8 numbers, got 'x'\n");
}

// ---------- the real sequences in ../shared

TEST(SharedData, OtbAndVotSequences) {
  LORAT_REQUIRE_SHARED(seqs, "sequences");
  for (std::string name : {"Couple", "Crossing", "bag"}) {
    std::string dir = seqs + "/" + name;
    if (!fs::exists(dir)) GTEST_SKIP() << dir << " not present";
    Dataset d = name == "bag" ? lorat::read_vot(dir) : lorat::read_otb(dir);
    expect_consistent(d);
    ASSERT_EQ(d.sequences.size(), 1u);
    const TrainSequence& s = d.sequences[0];
    EXPECT_EQ(s.name, name);
    // Same frames and boxes as the tracker's own loader.
    lorat::Sequence ref = lorat::load_sequence(dir, true);
    EXPECT_EQ(s.frames, ref.frames);
    ASSERT_EQ(ref.groundtruth.size(), s.frames.size());
    for (size_t i = 0; i < s.frames.size(); ++i) {
      EXPECT_EQ(bool(s.usable[i]), ref.groundtruth[i].valid()) << name << " frame " << i;
      if (s.usable[i]) expect_box(s.boxes[i], ref.groundtruth[i].x, ref.groundtruth[i].y, ref.groundtruth[i].w,
                                  ref.groundtruth[i].h);
    }
    EXPECT_EQ(d.report.skipped, 0) << problems(d);
  }
  EXPECT_EQ(lorat::read_otb(seqs + "/Couple").report.frames, 140);
  EXPECT_EQ(lorat::read_vot(seqs + "/bag").report.frames, 196);

  // The folder holds both kinds: as OTB, bag is reported and skipped.
  Dataset otb = lorat::read_otb(seqs);
  EXPECT_EQ(names(otb), (std::vector<std::string>{"Couple", "Crossing"}));
  EXPECT_TRUE(has_problem(otb, "bag: no groundtruth_rect.txt")) << problems(otb);
}
