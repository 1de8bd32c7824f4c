// Ground-truth parsing (OTB and VOT formats as they come), box options, and sequence folders.
#include "lorat/sequence.h"

#include <gtest/gtest.h>

#include <cmath>

#include <filesystem>
#include <fstream>

#include "lorat/error.h"
#include "test_util.h"

namespace fs = std::filesystem;
using lorat::Box;

namespace {

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

void expect_box(const Box& b, double x, double y, double w, double h) {
  EXPECT_DOUBLE_EQ(b.x, x);
  EXPECT_DOUBLE_EQ(b.y, y);
  EXPECT_DOUBLE_EQ(b.w, w);
  EXPECT_DOUBLE_EQ(b.h, h);
}

void expect_invalid(const Box& b) {
  EXPECT_EQ(b.x, 0);
  EXPECT_EQ(b.y, 0);
  EXPECT_EQ(b.w, 0);
  EXPECT_EQ(b.h, 0);
  EXPECT_FALSE(b.valid());
}

std::string groundtruth_error(const std::string& text) {
  try {
    lorat::parse_groundtruth(text, "gt.txt", false);
  } catch (const lorat::Error& e) {
    return e.what();
  }
  return "";
}

std::string box_error(const std::string& text) {
  try {
    lorat::parse_box(text);
  } catch (const lorat::Error& e) {
    return e.what();
  }
  return "";
}

void touch(const fs::path& file, const std::string& text = "") {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

std::string sequence_error(const std::string& dir, bool require) {
  try {
    lorat::load_sequence(dir, require);
  } catch (const lorat::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Groundtruth, Separators) {
  for (std::string text : {"10,20,30,40\n", "10\t20\t30\t40\n", "10 20 30 40\n", "10, 20,\t30  40\n",
                           "  10 ,20 , 30,40  \n"}) {
    std::vector<Box> boxes = lorat::parse_groundtruth(text, "gt.txt", false);
    ASSERT_EQ(boxes.size(), 1u) << text;
    expect_box(boxes[0], 10, 20, 30, 40);
  }
}

TEST(Groundtruth, OneBasedShiftAndFractions) {
  std::vector<Box> boxes = lorat::parse_groundtruth("205\t151\t17\t50\n1.5,2.25,3,4\n", "gt.txt", true);
  ASSERT_EQ(boxes.size(), 2u);
  expect_box(boxes[0], 204, 150, 17, 50);
  expect_box(boxes[1], 0.5, 1.25, 3, 4);
}

TEST(Groundtruth, CrlfEmptyLinesAndNoFinalNewline) {
  std::vector<Box> boxes = lorat::parse_groundtruth("1,2,3,4\r\n\r\n5,6,7,8\r\n  \n9,10,11,12", "gt.txt", false);
  ASSERT_EQ(boxes.size(), 3u);
  expect_box(boxes[0], 1, 2, 3, 4);
  expect_box(boxes[1], 5, 6, 7, 8);
  expect_box(boxes[2], 9, 10, 11, 12);
  EXPECT_TRUE(lorat::parse_groundtruth("", "gt.txt", false).empty());
}

TEST(Groundtruth, PolygonsGiveAxisAlignedBoxes) {
  std::vector<Box> boxes = lorat::parse_groundtruth(
      "291.827,203.603,396.382,264.289,442.173,185.397,337.618,124.711\n"
      "0,0,10,0,10,5,0,5\n",
      "gt.txt", true);  // polygons are never shifted, even when one_based
  ASSERT_EQ(boxes.size(), 2u);
  expect_box(boxes[0], 291.827, 124.711, 442.173 - 291.827, 264.289 - 124.711);
  expect_box(boxes[1], 0, 0, 10, 5);
}

TEST(Groundtruth, NanAndEmptyBoxesKeepTheirPlace) {
  std::vector<Box> boxes = lorat::parse_groundtruth(
      "1,2,3,4\nNaN,NaN,NaN,NaN\nnan nan nan nan\n5,6,0,8\n5,6,7,-1\n"
      "NaN,NaN,NaN,NaN,NaN,NaN,NaN,NaN\n1,1,1,1,1,1,1,1\n9,10,11,12\n",
      "gt.txt", true);
  ASSERT_EQ(boxes.size(), 8u);
  expect_box(boxes[0], 0, 1, 3, 4);
  for (size_t i = 1; i < 7; ++i) expect_invalid(boxes[i]);
  expect_box(boxes[7], 8, 9, 11, 12);
}

TEST(Groundtruth, BadLinesNameSourceAndLine) {
  EXPECT_EQ(groundtruth_error("1,2,3,4\n\n1,2,3\n"), "gt.txt:3: expected 4 or 8 numbers, got '1,2,3'");
  EXPECT_EQ(groundtruth_error("1,2,3,4\r\n1,2,x,4\r\n"), "gt.txt:2: expected 4 or 8 numbers, got '1,2,x,4'");
  EXPECT_EQ(groundtruth_error("1,2,3,4,5,6\n"), "gt.txt:1: expected 4 or 8 numbers, got '1,2,3,4,5,6'");
  EXPECT_EQ(groundtruth_error("1,,2,3,4\n"), "gt.txt:1: expected 4 or 8 numbers, got '1,,2,3,4'");
  EXPECT_EQ(groundtruth_error("1,2,3,4,\n"), "gt.txt:1: expected 4 or 8 numbers, got '1,2,3,4,'");
  EXPECT_EQ(groundtruth_error("1;2;3;4\n"), "gt.txt:1: expected 4 or 8 numbers, got '1;2;3;4'");
  EXPECT_EQ(groundtruth_error("1,2,3,4px\n"), "gt.txt:1: expected 4 or 8 numbers, got '1,2,3,4px'");
}

TEST(ParseBox, Good) {
  expect_box(lorat::parse_box("10,20,30,40"), 10, 20, 30, 40);
  expect_box(lorat::parse_box("10, 20, 30, 40"), 10, 20, 30, 40);
  expect_box(lorat::parse_box("-5.5,0,1.25,2"), -5.5, 0, 1.25, 2);
}

TEST(ParseBox, Bad) {
  EXPECT_EQ(box_error("10,20,0,40"), "box '10,20,0,40': width and height must be positive");
  EXPECT_EQ(box_error("10,20,30,-1"), "box '10,20,30,-1': width and height must be positive");
  for (std::string text : {"", "10,20,30", "10,20,30,40,50", "a,b,c,d", "10;20;30;40", "10,20,30,40,", "10,,30,40",
                           "nan,1,2,3", "1,2,inf,3", "10 20 30 40"})
    EXPECT_EQ(box_error(text), "box '" + text + "': expected x,y,w,h");
}

TEST(LoadSequence, TempFolder) {
  fs::path dir = fs::path(lorat_test::temp_dir()) / "myseq";
  touch(dir / "img" / "0002.jpg");
  touch(dir / "img" / "0001.JPG");
  touch(dir / "img" / "0003.png");
  touch(dir / "img" / "0000.jpeg");
  touch(dir / "img" / "notes.txt");
  fs::create_directories(dir / "img" / "sub.jpg");  // a folder, not an image
  touch(dir / "groundtruth_rect.txt", "1\t1\t10\t10\n2\t2\t10\t10\n");

  lorat::Sequence seq = lorat::load_sequence(dir.string(), true);
  EXPECT_EQ(seq.name, "myseq");
  ASSERT_EQ(seq.frames.size(), 4u);
  EXPECT_EQ(fs::path(seq.frames[0]).filename(), "0000.jpeg");
  EXPECT_EQ(fs::path(seq.frames[1]).filename(), "0001.JPG");
  EXPECT_EQ(fs::path(seq.frames[2]).filename(), "0002.jpg");
  EXPECT_EQ(fs::path(seq.frames[3]).filename(), "0003.png");
  EXPECT_TRUE(fs::exists(seq.frames[0]));
  ASSERT_EQ(seq.groundtruth.size(), 2u);  // shorter than frames is allowed
  expect_box(seq.groundtruth[0], 0, 0, 10, 10);

  // A trailing slash still names the folder.
  EXPECT_EQ(lorat::load_sequence(dir.string() + "/", true).name, "myseq");
}

TEST(LoadSequence, ImagesInFolderAndVotGroundtruth) {
  fs::path dir = fs::path(lorat_test::temp_dir()) / "flat";
  touch(dir / "b.png");
  touch(dir / "a.jpg");
  touch(dir / "groundtruth.txt", "1,1,10,10\n");  // groundtruth.txt: 0-based
  lorat::Sequence seq = lorat::load_sequence(dir.string(), true);
  ASSERT_EQ(seq.frames.size(), 2u);
  EXPECT_EQ(fs::path(seq.frames[0]).filename(), "a.jpg");
  ASSERT_EQ(seq.groundtruth.size(), 1u);
  expect_box(seq.groundtruth[0], 1, 1, 10, 10);
}

TEST(LoadSequence, Errors) {
  fs::path base = fs::path(lorat_test::temp_dir());
  std::string missing = (base / "no_such_seq").string();
  EXPECT_EQ(sequence_error(missing, false), missing + ": no such sequence folder");

  std::string empty = (base / "no_images").string();
  touch(base / "no_images" / "groundtruth.txt", "1,2,3,4\n");
  touch(base / "no_images" / "readme.txt");
  EXPECT_EQ(sequence_error(empty, false), empty + ": no images (.jpg, .png) found");

  std::string no_gt = (base / "no_gt").string();
  touch(base / "no_gt" / "img" / "0001.jpg");
  EXPECT_EQ(sequence_error(no_gt, true), no_gt + ": no ground truth (groundtruth_rect.txt or groundtruth.txt)");
  lorat::Sequence seq = lorat::load_sequence(no_gt, false);
  EXPECT_EQ(seq.frames.size(), 1u);
  EXPECT_TRUE(seq.groundtruth.empty());

  std::string bad_gt = (base / "bad_gt").string();
  touch(base / "bad_gt" / "0001.jpg");
  touch(base / "bad_gt" / "groundtruth_rect.txt", "1 2 3 4\n1 2 3\n");
  EXPECT_EQ(sequence_error(bad_gt, false),
            (base / "bad_gt" / "groundtruth_rect.txt").string() + ":2: expected 4 or 8 numbers, got '1 2 3'");
}

TEST(LoadSequence, Crossing) {
  LORAT_REQUIRE_SHARED(dir, "sequences/Crossing");
  lorat::Sequence seq = lorat::load_sequence(dir, true);
  EXPECT_EQ(seq.name, "Crossing");
  ASSERT_EQ(seq.frames.size(), 120u);
  EXPECT_EQ(fs::path(seq.frames[0]).filename(), "0001.jpg");
  EXPECT_EQ(fs::path(seq.frames[119]).filename(), "0120.jpg");
  ASSERT_EQ(seq.groundtruth.size(), 120u);
  expect_box(seq.groundtruth[0], 204, 150, 17, 50);
  for (const Box& b : seq.groundtruth) EXPECT_TRUE(b.valid());
}

TEST(LoadSequence, Couple) {
  LORAT_REQUIRE_SHARED(dir, "sequences/Couple");
  lorat::Sequence seq = lorat::load_sequence(dir, true);
  EXPECT_EQ(seq.frames.size(), 140u);
  EXPECT_EQ(seq.groundtruth.size(), 140u);
}

TEST(LoadSequence, Bag) {
  LORAT_REQUIRE_SHARED(dir, "sequences/bag");
  lorat::Sequence seq = lorat::load_sequence(dir, true);
  EXPECT_EQ(seq.name, "bag");
  ASSERT_EQ(seq.frames.size(), 196u);
  ASSERT_EQ(seq.groundtruth.size(), 196u);
  // First line: 291.827,203.603,396.382,264.289,442.173,185.397,337.618,124.711
  expect_box(seq.groundtruth[0], 291.827, 124.711, 442.173 - 291.827, 264.289 - 124.711);
  for (const Box& b : seq.groundtruth) EXPECT_TRUE(b.valid());
}

// lorat::iou lives in box.cpp, which has no test file of its own.
TEST(Box, Iou) {
  EXPECT_DOUBLE_EQ(lorat::iou({0, 0, 10, 10}, {0, 0, 10, 10}), 1.0);
  EXPECT_DOUBLE_EQ(lorat::iou({0, 0, 10, 10}, {5, 0, 10, 10}), 50.0 / 150.0);
  EXPECT_DOUBLE_EQ(lorat::iou({0, 0, 10, 10}, {2, 2, 4, 4}), 16.0 / 100.0);
  EXPECT_DOUBLE_EQ(lorat::iou({0, 0, 10, 10}, {10, 0, 10, 10}), 0.0);  // touching edges
  EXPECT_DOUBLE_EQ(lorat::iou({0, 0, 10, 10}, {20, 20, 5, 5}), 0.0);
  EXPECT_DOUBLE_EQ(lorat::iou({0, 0, 10, 10}, Box{}), 0.0);
  EXPECT_DOUBLE_EQ(lorat::iou(Box{}, Box{}), 0.0);
}

// The tracker's size smoothing (size_update_rate): the new box's centre, a size part way in log space.
TEST(Box, BlendSize) {
  lorat::Box previous{0, 0, 10, 40}, next{100, 50, 40, 10};
  lorat::Box half = lorat::blend_size(previous, next, 0.5);
  EXPECT_DOUBLE_EQ(half.w, 20);  // sqrt(10 * 40)
  EXPECT_DOUBLE_EQ(half.h, 20);
  EXPECT_DOUBLE_EQ(half.cx(), next.cx());
  EXPECT_DOUBLE_EQ(half.cy(), next.cy());
  lorat::Box quarter = lorat::blend_size(previous, next, 0.25);
  EXPECT_NEAR(quarter.w, 10 * std::pow(4.0, 0.25), 1e-9);
  EXPECT_NEAR(quarter.h, 40 * std::pow(0.25, 0.25), 1e-9);
  for (lorat::Box same : {lorat::blend_size(previous, next, 1), lorat::blend_size(lorat::Box{}, next, 0.5)}) {
    EXPECT_EQ(same.x, next.x);
    EXPECT_EQ(same.w, next.w);
    EXPECT_EQ(same.h, next.h);
  }
}

TEST(ParseBoxes, SeveralBoxesSeparatedBySemicolons) {
  auto boxes = lorat::parse_boxes("1,2,3,4; 5.5, 6, 7, 8;;");
  ASSERT_EQ(boxes.size(), 2u);
  EXPECT_DOUBLE_EQ(boxes[1].x, 5.5);
  EXPECT_DOUBLE_EQ(boxes[1].h, 8);
  EXPECT_TRUE(lorat::parse_boxes("").empty());
  EXPECT_THROW(lorat::parse_boxes("1,2,3,4;1,2,0,4"), lorat::Error);
  EXPECT_THROW(lorat::parse_boxes("garbage"), lorat::Error);
}
