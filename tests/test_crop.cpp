// The SiamFC crop maths, the foreground mask, and reading pixels from every supported format.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "lorat/crop.h"
#include "lorat/error.h"

using namespace lorat;

TEST(Crop, TemplateOfCoupleFrame0MatchesTheAuthorsTransform) {
  // From lorat-reference/tracking/Couple.csv, row 0 (a 320x240 frame).
  CropPlan p = plan_crop(Box{50, 46, 25, 62}, 2.0, 112, 320, 240);
  // The authors compute in float32: agreement to its precision.
  EXPECT_NEAR(p.effective.sx, 1.28735638, 1e-6);
  EXPECT_NEAR(p.effective.sy, 1.30232561, 1e-6);
  EXPECT_NEAR(p.effective.tx, -24.4597702, 1e-5);
  EXPECT_NEAR(p.effective.ty, -44.2790718, 1e-5);
  EXPECT_EQ(p.crop_rect.x1, 0);
  EXPECT_EQ(p.crop_rect.x2, 112);
  EXPECT_EQ(p.frame_rect.x1, 19);
  EXPECT_EQ(p.frame_rect.x2, 106);
}

TEST(Crop, CropAtTheFrameBorderIsClippedAndPixelAligned) {
  CropPlan p = plan_crop(Box{0, 0, 20, 20}, 4.0, 224, 320, 240);
  EXPECT_GT(p.crop_rect.x1, 0);  // the frame starts inside the crop
  EXPECT_EQ(p.frame_rect.x1, 0);
  EXPECT_EQ(p.frame_rect.y1, 0);
  EXPECT_NEAR(p.effective.tx, p.crop_rect.x1, 1e-9);
  EXPECT_NEAR(p.effective.sx, double(p.crop_rect.width()) / p.frame_rect.width(), 1e-12);
}

TEST(Crop, InverseMappingRoundTripsWithinAHundredthOfAPixel) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> pos(-50, 600), size(1, 300);
  for (int i = 0; i < 2000; ++i) {
    Box target{pos(rng), pos(rng), size(rng), size(rng)};
    CropPlan p = plan_crop(target, 4.0, 224, 640, 480);
    Box probe{pos(rng), pos(rng), size(rng), size(rng)};
    Box back = p.effective.to_frame(p.effective.to_crop(probe));
    EXPECT_NEAR(back.x, probe.x, 0.01);
    EXPECT_NEAR(back.y, probe.y, 0.01);
    EXPECT_NEAR(back.w, probe.w, 0.01);
    EXPECT_NEAR(back.h, probe.h, 0.01);
  }
}

TEST(Crop, EmptyBoxOrFrameIsAnError) {
  EXPECT_THROW(plan_crop(Box{10, 10, 0, 5}, 2.0, 112, 320, 240), Error);
  EXPECT_THROW(plan_crop(Box{10, 10, 5, -1}, 2.0, 112, 320, 240), Error);
  EXPECT_THROW(plan_crop(Box{10, 10, 5, 5}, 2.0, 112, 0, 240), Error);
}

TEST(Crop, MinimumSizeKeepsTheCentreAndClipStaysInTheFrame) {
  Box b = enforce_min_size(Box{100, 50, 4, 30}, 10);
  EXPECT_DOUBLE_EQ(b.w, 10);
  EXPECT_DOUBLE_EQ(b.h, 30);
  EXPECT_DOUBLE_EQ(b.cx(), 102);
  Box c = clip_box(Box{-5, 230, 20, 20}, 320, 240);
  EXPECT_DOUBLE_EQ(c.x, 0);
  EXPECT_DOUBLE_EQ(c.w, 15);
  EXPECT_DOUBLE_EQ(c.h, 10);
}

// Foreground cells for a box given directly in crop pixels (identity transform), 112 px, 8 cells of 14.
static std::vector<int64_t> mask_of(double x1, double y1, double x2, double y2) {
  std::vector<int64_t> m(64);
  foreground_mask(Box::from_corners(x1, y1, x2, y2), Transform{}, 112, 8, m.data());
  return m;
}

static int count(const std::vector<int64_t>& m) {
  int n = 0;
  for (auto v : m) n += int(v);
  return n;
}

TEST(Mask, BoxesOnCellBorders) {
  // Exactly one cell: [14, 28) touches only cell 1 (the end is exclusive after the 1e-4 nudge).
  auto m = mask_of(14, 14, 28, 28);
  EXPECT_EQ(count(m), 1);
  EXPECT_EQ(m[1 * 8 + 1], 1);
  // A hair past the border reaches the next cell; a hair before the start reaches the previous.
  EXPECT_EQ(count(mask_of(14, 14, 28.01, 28)), 2);
  EXPECT_EQ(count(mask_of(13.99, 14, 28, 28)), 2);
  // Within 1e-4 cells of the border does not.
  EXPECT_EQ(count(mask_of(14, 14, 28 + 14 * 0.5e-4, 28)), 1);
  // Clipped to the grid: a box larger than the crop marks every cell.
  EXPECT_EQ(count(mask_of(-30, -30, 500, 500)), 64);
  // A box outside the crop marks nothing.
  EXPECT_EQ(count(mask_of(200, 200, 300, 300)), 0);
}

namespace {

// A w x h test picture with distinct smooth colours, in packed RGB.
std::vector<uint8_t> picture(int w, int h) {
  std::vector<uint8_t> rgb(size_t(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &rgb[(size_t(y) * w + x) * 3];
      p[0] = uint8_t((x * 5 + y) % 256);
      p[1] = uint8_t((y * 3 + 40) % 256);
      p[2] = uint8_t((x + y * 2 + 90) % 256);
    }
  return rgb;
}

std::vector<float> crop_raw(const ImageView& v, const CropPlan& plan) {
  std::vector<float> out(3 * size_t(plan.size) * plan.size);
  double fill[3] = {10, 20, 30};
  render_crop_raw(v, plan, fill, out.data());
  return out;
}

}  // namespace

TEST(Render, IdentityCropCopiesPixelsAndFillsOutside) {
  const int W = 40, H = 30;
  auto rgb = picture(W, H);
  ImageView v = ImageView::packed(PixelFormat::RGB, rgb.data(), W, H, W * 3);
  CropPlan plan;
  plan.size = 50;
  plan.crop_rect = {5, 5, 45, 35};
  plan.frame_rect = {0, 0, 40, 30};
  auto out = crop_raw(v, plan);
  const size_t P = 50 * 50;
  EXPECT_FLOAT_EQ(out[0 * P + 10 * 50 + 20], rgb[(5 * W + 15) * 3 + 0]);
  EXPECT_FLOAT_EQ(out[2 * P + 34 * 50 + 44], rgb[(29 * W + 39) * 3 + 2]);
  EXPECT_FLOAT_EQ(out[0 * P + 0], 10);  // fill
  EXPECT_FLOAT_EQ(out[1 * P + 49 * 50 + 49], 20);
}

TEST(Render, EveryPackedFormatGivesTheSameCrop) {
  const int W = 64, H = 48;
  auto rgb = picture(W, H);
  CropPlan plan = plan_crop(Box{20, 10, 15, 20}, 4.0, 56, W, H);
  auto expected = crop_raw(ImageView::packed(PixelFormat::RGB, rgb.data(), W, H, W * 3), plan);
  struct Layout {
    PixelFormat f;
    int bytes, r, g, b;
  };
  for (Layout l : {Layout{PixelFormat::BGR, 3, 2, 1, 0}, Layout{PixelFormat::RGBx, 4, 0, 1, 2}, Layout{PixelFormat::BGRx, 4, 2, 1, 0},
                   Layout{PixelFormat::xRGB, 4, 1, 2, 3}, Layout{PixelFormat::xBGR, 4, 3, 2, 1}, Layout{PixelFormat::RGBA, 4, 0, 1, 2},
                   Layout{PixelFormat::BGRA, 4, 2, 1, 0}, Layout{PixelFormat::ARGB, 4, 1, 2, 3}, Layout{PixelFormat::ABGR, 4, 3, 2, 1}}) {
    const int stride = W * l.bytes + 8;  // padded rows
    std::vector<uint8_t> buf(size_t(stride) * H, 77);
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        const uint8_t* s = &rgb[(size_t(y) * W + x) * 3];
        uint8_t* d = &buf[size_t(y) * stride + size_t(x) * l.bytes];
        d[l.r] = s[0], d[l.g] = s[1], d[l.b] = s[2];
      }
    EXPECT_EQ(crop_raw(ImageView::packed(l.f, buf.data(), W, H, stride), plan), expected) << pixel_format_name(l.f);
  }
}

TEST(Render, YuvAndGrayFormats) {
  const int W = 32, H = 24;
  // A uniform YUV picture (Y 120, U 100, V 160) must come out as one RGB colour.
  std::vector<uint8_t> y(W * H, 120), u(W * H / 4, 100), v(W * H / 4, 160), uv(W * H / 2);
  for (size_t i = 0; i < uv.size(); i += 2) uv[i] = 100, uv[i + 1] = 160;
  ImageView i420;
  i420.format = PixelFormat::I420, i420.width = W, i420.height = H;
  i420.planes[0] = y.data(), i420.planes[1] = u.data(), i420.planes[2] = v.data();
  i420.strides[0] = W, i420.strides[1] = W / 2, i420.strides[2] = W / 2;
  ImageView nv12 = i420;
  nv12.format = PixelFormat::NV12, nv12.planes[1] = uv.data(), nv12.planes[2] = nullptr, nv12.strides[1] = W;
  float a[3], b[3];
  read_rgb(i420, 5, 7, a);
  read_rgb(nv12, 5, 7, b);
  for (int c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(a[c], b[c]);
  // BT.601 limited range: Y 120, U 100, V 160 is about RGB (172, 106, 65).
  EXPECT_NEAR(a[0], 172, 1.5);
  EXPECT_NEAR(a[1], 106, 1.5);
  EXPECT_NEAR(a[2], 65, 1.5);
  std::vector<uint8_t> gray(W * H, 99);
  read_rgb(ImageView::packed(PixelFormat::GRAY8, gray.data(), W, H, W), 3, 3, a);
  EXPECT_FLOAT_EQ(a[0], 99);
  EXPECT_FLOAT_EQ(a[2], 99);
  EXPECT_THROW(pixel_format_from_name("YUY2"), Error);
  EXPECT_EQ(pixel_format_from_name("NV12"), PixelFormat::NV12);
  ImageView broken = i420;
  broken.planes[2] = nullptr;
  EXPECT_THROW(broken.validate(), Error);
}

TEST(Render, MeanColourOfAFrame) {
  std::vector<uint8_t> rgb = {0, 10, 20, 255, 30, 40};
  double m[3];
  mean_rgb(ImageView::packed(PixelFormat::RGB, rgb.data(), 2, 1, 6), m);
  EXPECT_DOUBLE_EQ(m[0], 127.5);
  EXPECT_DOUBLE_EQ(m[1], 20);
  EXPECT_DOUBLE_EQ(m[2], 30);
}
