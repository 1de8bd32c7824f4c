// loratoverlay as a user sees it: ROI metas come out drawn onto the frame, in the track's colour,
// in every format it accepts; frames without metas are untouched, and nothing outside the
// picture (row padding, other planes' padding, memory past the frame) is ever written.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/gstvideometa.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "gst_test_util.h"

namespace {

using lorat_gst_test::caps_for;
using lorat_gst_test::scene_buffer;

constexpr int kW = 160, kH = 120;

class GstEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { gst_init(nullptr, nullptr); }
};
const auto* const kGstEnvironment = ::testing::AddGlobalTestEnvironment(new GstEnvironment);

const std::vector<std::string> kFormats = {"RGB",  "BGR",  "RGBx", "BGRx", "xRGB", "xBGR", "RGBA",
                                           "BGRA", "ARGB", "ABGR", "I420", "NV12", "GRAY8"};

struct Rgb {
  int r, g, b;
  bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
};
std::ostream& operator<<(std::ostream& os, const Rgb& c) { return os << "(" << c.r << "," << c.g << "," << c.b << ")"; }

// Byte positions of R, G, B in one pixel, and bytes per pixel, of the packed formats (written
// out here rather than taken from GStreamer's tables the element itself uses).
struct Packed {
  int r, g, b, bytes;
};
const std::map<std::string, Packed> kPacked = {
    {"RGB", {0, 1, 2, 3}},  {"BGR", {2, 1, 0, 3}},  {"RGBx", {0, 1, 2, 4}}, {"BGRx", {2, 1, 0, 4}}, {"xRGB", {1, 2, 3, 4}},
    {"xBGR", {3, 2, 1, 4}}, {"RGBA", {0, 1, 2, 4}}, {"BGRA", {2, 1, 0, 4}}, {"ARGB", {1, 2, 3, 4}}, {"ABGR", {3, 2, 1, 4}},
};

bool is_packed(const std::string& format) { return kPacked.count(format) > 0; }

// The colours of the documented palette (track id modulo 10) and of lost tracks.
const Rgb kPalette[] = {{230, 25, 75}, {60, 180, 75}, {255, 225, 25}, {0, 130, 200}, {245, 130, 48},
                        {145, 30, 180}, {70, 240, 240}, {240, 50, 230}, {210, 245, 60}, {250, 190, 190}};
const Rgb kLostGrey = {150, 150, 150};

// Expected luma of a colour: BT.601 limited range for I420/NV12, full range for GRAY8.
double expected_luma(const std::string& format, Rgb c) {
  if (format == "GRAY8") return 0.299 * c.r + 0.587 * c.g + 0.114 * c.b;
  return 16 + (65.481 * c.r + 128.553 * c.g + 24.966 * c.b) / 255.0;
}

// A mapped frame to read pixels from (read-only).
class Frame {
 public:
  Frame(GstBuffer* buf, const std::string& format, int w, int h) : format_(format) {
    gst_video_info_set_format(&info_, gst_video_format_from_string(format.c_str()), w, h);
    ok_ = gst_video_frame_map(&frame_, &info_, buf, GST_MAP_READ);
  }
  ~Frame() {
    if (ok_) gst_video_frame_unmap(&frame_);
  }
  bool ok() const { return ok_; }
  const uint8_t* at(int plane, int x_bytes, int y) const {
    return static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame_, plane)) + y * GST_VIDEO_FRAME_PLANE_STRIDE(&frame_, plane) + x_bytes;
  }
  Rgb rgb(int x, int y) const {
    const Packed& p = kPacked.at(format_);
    const uint8_t* px = at(0, x * p.bytes, y);
    return {px[p.r], px[p.g], px[p.b]};
  }
  int luma(int x, int y) const { return *at(0, x, y); }

 private:
  std::string format_;
  GstVideoInfo info_;
  GstVideoFrame frame_;
  bool ok_ = false;
};

GstVideoRegionOfInterestMeta* add_roi(GstBuffer* buf, guint x, guint y, guint w, guint h, int id) {
  GstVideoRegionOfInterestMeta* roi = gst_buffer_add_video_region_of_interest_meta(buf, "object", x, y, w, h);
  roi->id = id;
  return roi;
}

void add_lorat_param(GstVideoRegionOfInterestMeta* roi, guint track_id, double score, gboolean lost) {
  gst_video_region_of_interest_meta_add_param(
      roi, gst_structure_new("lorat", "track-id", G_TYPE_UINT, track_id, "score", G_TYPE_DOUBLE, score, "lost", G_TYPE_BOOLEAN, lost, nullptr));
}

// Runs one buffer through a fresh loratoverlay; returns what came out (caller unrefs).
GstBuffer* overlay(GstBuffer* in, const std::string& format, int w = kW, int h = kH) {
  GstHarness* hr = gst_harness_new("loratoverlay");
  gst_harness_set_src_caps_str(hr, caps_for(format, w, h).c_str());
  GstBuffer* out = nullptr;
  if (gst_harness_push(hr, in) == GST_FLOW_OK) out = gst_harness_pull(hr);
  gst_harness_teardown(hr);
  return out;
}

// The test box: x 40..99, y 40..89; default thickness 2, so columns 40-41 and 98-99 and rows
// 40-41 and 88-89 are its outline.
constexpr int kBx = 40, kBy = 40, kBw = 60, kBh = 50;

struct Probe {
  int x, y;
};
// Outline pixels that a dashed (lost) outline also draws: runs of 6 on, 6 off from the corner.
const Probe kEdge[] = {{kBx, kBy + 14}, {kBx + 1, kBy + 15}, {kBx + 14, kBy}, {kBx + 15, kBy + 1}, {kBx + kBw - 1, kBy + 14},
                       {kBx + 14, kBy + kBh - 1}, {kBx, kBy + 2}};
// Inside the box, away from the outline and the label.
const Probe kInside[] = {{kBx + 2, kBy + 14}, {kBx + 30, kBy + 25}, {kBx + kBw - 3, kBy + 20}, {kBx + 20, kBy + kBh - 3}};
// Outline pixels in the gap of a dashed outline (along 6..11 from the corner).
const Probe kGap[] = {{kBx, kBy + 8}, {kBx + 1, kBy + 9}, {kBx + kBw - 1, kBy + 8}};

void expect_drawn(GstBuffer* before, GstBuffer* after, const std::string& format, Rgb colour, bool dashed) {
  Frame a(before, format, kW, kH), b(after, format, kW, kH);
  ASSERT_TRUE(a.ok() && b.ok());
  auto check_edge = [&](const Probe& p) {
    SCOPED_TRACE("edge pixel " + std::to_string(p.x) + "," + std::to_string(p.y));
    if (is_packed(format)) {
      EXPECT_EQ(b.rgb(p.x, p.y), colour);
    } else {
      EXPECT_NE(b.luma(p.x, p.y), a.luma(p.x, p.y));
      EXPECT_NEAR(b.luma(p.x, p.y), expected_luma(format, colour), 1.5);
    }
  };
  auto check_untouched = [&](const Probe& p, const char* what) {
    SCOPED_TRACE(std::string(what) + " pixel " + std::to_string(p.x) + "," + std::to_string(p.y));
    if (is_packed(format))
      EXPECT_EQ(b.rgb(p.x, p.y), a.rgb(p.x, p.y));
    else
      EXPECT_EQ(b.luma(p.x, p.y), a.luma(p.x, p.y));
  };
  for (const auto& p : kEdge) check_edge(p);
  for (const auto& p : kInside) check_untouched(p, "inside");
  for (const auto& p : kGap) {
    if (dashed)
      check_untouched(p, "dash gap");
    else
      check_edge(p);
  }
  // Far from the box and its label nothing changes.
  check_untouched({5, 110}, "outside");
  check_untouched({150, 5}, "outside");
}

class OverlayFormat : public ::testing::TestWithParam<std::string> {};

TEST_P(OverlayFormat, MetaWithoutLoratParamIsDrawnInTheColourOfItsId) {
  const std::string format = GetParam();
  GstBuffer* in = scene_buffer(format, kW, kH, 70, 60);
  add_roi(in, kBx, kBy, kBw, kBh, 1);
  GstBuffer* before = gst_buffer_copy_deep(in);
  GstBuffer* out = overlay(in, format);
  ASSERT_NE(out, nullptr);
  expect_drawn(before, out, format, kPalette[1], false);
  gst_buffer_unref(before);
  gst_buffer_unref(out);
}

TEST_P(OverlayFormat, TrackedTargetIsDrawnInItsTrackColour) {
  const std::string format = GetParam();
  GstBuffer* in = scene_buffer(format, kW, kH, 70, 60);
  add_lorat_param(add_roi(in, kBx, kBy, kBw, kBh, 3), 3, 0.87, FALSE);
  GstBuffer* before = gst_buffer_copy_deep(in);
  GstBuffer* out = overlay(in, format);
  ASSERT_NE(out, nullptr);
  expect_drawn(before, out, format, kPalette[3], false);
  gst_buffer_unref(before);
  gst_buffer_unref(out);
}

TEST_P(OverlayFormat, LostTargetIsGreyAndDashed) {
  const std::string format = GetParam();
  GstBuffer* in = scene_buffer(format, kW, kH, 70, 60);
  add_lorat_param(add_roi(in, kBx, kBy, kBw, kBh, 3), 3, 0.1, TRUE);
  GstBuffer* before = gst_buffer_copy_deep(in);
  GstBuffer* out = overlay(in, format);
  ASSERT_NE(out, nullptr);
  expect_drawn(before, out, format, kLostGrey, true);
  gst_buffer_unref(before);
  gst_buffer_unref(out);
}

TEST_P(OverlayFormat, FrameWithoutMetasIsUntouched) {
  const std::string format = GetParam();
  GstBuffer* in = scene_buffer(format, kW, kH, 70, 60);
  GstBuffer* before = gst_buffer_copy_deep(in);
  GstBuffer* out = overlay(in, format);
  ASSERT_NE(out, nullptr);
  GstMapInfo a, b;
  ASSERT_TRUE(gst_buffer_map(before, &a, GST_MAP_READ));
  ASSERT_TRUE(gst_buffer_map(out, &b, GST_MAP_READ));
  ASSERT_EQ(a.size, b.size);
  EXPECT_EQ(std::memcmp(a.data, b.data, a.size), 0);
  gst_buffer_unmap(before, &a);
  gst_buffer_unmap(out, &b);
  gst_buffer_unref(before);
  gst_buffer_unref(out);
}

// A frame of odd size (so rows carry padding) in a buffer with guard bytes past its end; every
// byte that is not a picture byte is set to kGuard.
constexpr uint8_t kGuard = 0xA5;
constexpr size_t kTail = 256;

struct Guarded {
  GstBuffer* buf;
  std::vector<bool> picture;  // per byte of the buffer: part of the picture
};

Guarded guarded_scene(const std::string& format, int w, int h) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, gst_video_format_from_string(format.c_str()), w, h);
  const size_t size = GST_VIDEO_INFO_SIZE(&info);
  std::vector<bool> picture(size + kTail, false);
  for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES(&info); ++p) {
    // Rows and bytes per row of the plane's samples.
    int rows = h, row_bytes = w * GST_VIDEO_INFO_COMP_PSTRIDE(&info, 0);
    if (format == "I420" && p > 0) rows = (h + 1) / 2, row_bytes = (w + 1) / 2;
    if (format == "NV12" && p > 0) rows = (h + 1) / 2, row_bytes = ((w + 1) / 2) * 2;
    for (int y = 0; y < rows; ++y)
      for (int x = 0; x < row_bytes; ++x) picture[GST_VIDEO_INFO_PLANE_OFFSET(&info, p) + size_t(y) * GST_VIDEO_INFO_PLANE_STRIDE(&info, p) + x] = true;
  }
  GstBuffer* scene = scene_buffer(format, w, h, w - 25, h - 20);
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, size + kTail, nullptr);
  GstMapInfo s, d;
  gst_buffer_map(scene, &s, GST_MAP_READ);
  gst_buffer_map(buf, &d, GST_MAP_WRITE);
  for (size_t i = 0; i < size + kTail; ++i) d.data[i] = picture[i] ? s.data[i] : kGuard;
  gst_buffer_unmap(buf, &d);
  gst_buffer_unmap(scene, &s);
  gst_buffer_unref(scene);
  return {buf, picture};
}

void expect_guard_intact(GstBuffer* out, const std::vector<bool>& picture) {
  GstMapInfo m;
  ASSERT_TRUE(gst_buffer_map(out, &m, GST_MAP_READ));
  ASSERT_EQ(m.size, picture.size());
  size_t written = 0, first = 0;
  for (size_t i = 0; i < m.size; ++i)
    if (!picture[i] && m.data[i] != kGuard) {
      if (!written) first = i;
      ++written;
    }
  EXPECT_EQ(written, 0u) << "bytes outside the picture were written, the first at offset " << first << " of " << m.size;
  gst_buffer_unmap(out, &m);
}

TEST_P(OverlayFormat, BoxesPartlyOrWhollyOutsideTheFrameNeverWriteOutsideIt) {
  const std::string format = GetParam();
  const int w = kW - 2, h = kH - 2;  // 158x118: rows of most formats are padded
  Guarded g = guarded_scene(format, w, h);
  GstBuffer* before = gst_buffer_copy_deep(g.buf);
  add_lorat_param(add_roi(g.buf, w - 8, h - 8, 30, 30, 4), 4, 0.5, FALSE);  // bottom-right corner, mostly outside
  add_roi(g.buf, 0, 0, 12, 10, 2);                                          // top-left corner: the label goes inside
  add_lorat_param(add_roi(g.buf, 0, h - 3, w + 50, 40, 5), 5, 0.5, TRUE);   // wider than the frame, lost
  add_roi(g.buf, w + 10, h + 10, 20, 20, 6);                                // wholly outside
  add_roi(g.buf, 20, 20, 100000, 100000, 7);                                // absurdly large
  GstBuffer* out = overlay(g.buf, format, w, h);
  ASSERT_NE(out, nullptr);
  expect_guard_intact(out, g.picture);
  // The visible part of the corner box is drawn: its top and left edges.
  Frame a(before, format, w, h), b(out, format, w, h);
  ASSERT_TRUE(a.ok() && b.ok());
  const Probe top = {w - 4, h - 8}, left = {w - 8, h - 4};
  for (const Probe& p : {top, left}) {
    SCOPED_TRACE("corner box edge " + std::to_string(p.x) + "," + std::to_string(p.y));
    if (is_packed(format))
      EXPECT_EQ(b.rgb(p.x, p.y), kPalette[4]);
    else
      EXPECT_NEAR(b.luma(p.x, p.y), expected_luma(format, kPalette[4]), 1.5);
  }
  gst_buffer_unref(before);
  gst_buffer_unref(out);
}

INSTANTIATE_TEST_SUITE_P(AllFormats, OverlayFormat, ::testing::ValuesIn(kFormats),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

TEST(LoratOverlay, LabelIsDrawnAboveTheBox) {
  GstBuffer* in = scene_buffer("RGB", kW, kH, 70, 60);
  add_lorat_param(add_roi(in, kBx, kBy, kBw, kBh, 3), 3, 0.87, FALSE);
  GstBuffer* before = gst_buffer_copy_deep(in);
  GstBuffer* out = overlay(in, "RGB");
  ASSERT_NE(out, nullptr);
  Frame a(before, "RGB", kW, kH), b(out, "RGB", kW, kH);
  int changed = 0;
  for (int y = kBy - 10; y < kBy; ++y)
    for (int x = kBx; x < kBx + 30; ++x) changed += !(a.rgb(x, y) == b.rgb(x, y));
  EXPECT_GT(changed, 20) << "no label above the box";
  gst_buffer_unref(before);
  gst_buffer_unref(out);
}

TEST(LoratOverlay, ThicknessProperty) {
  GstHarness* hr = gst_harness_new("loratoverlay");
  gst_harness_set(hr, "loratoverlay", "thickness", 4, nullptr);
  gst_harness_set_src_caps_str(hr, caps_for("RGB", kW, kH).c_str());
  GstBuffer* in = scene_buffer("RGB", kW, kH, 70, 60);
  add_roi(in, kBx, kBy, kBw, kBh, 1);
  GstBuffer* before = gst_buffer_copy_deep(in);
  ASSERT_EQ(gst_harness_push(hr, in), GST_FLOW_OK);
  GstBuffer* out = gst_harness_pull(hr);
  ASSERT_NE(out, nullptr);
  Frame a(before, "RGB", kW, kH), b(out, "RGB", kW, kH);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(b.rgb(kBx + k, kBy + 20), kPalette[1]) << "column " << kBx + k;
  EXPECT_EQ(b.rgb(kBx + 4, kBy + 20), a.rgb(kBx + 4, kBy + 20));
  gst_buffer_unref(before);
  gst_buffer_unref(out);
  gst_harness_teardown(hr);
}

}  // namespace
