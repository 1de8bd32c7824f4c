// The CUDA crop path against render_crop (crop.cpp), its CPU reference.
// Host tests (any machine): crop_pixel(), the per-pixel arithmetic the kernel runs, reproduces
// render_crop bit for bit for every pixel format. Device tests (skipped without a GPU): one upload
// and one launch for several targets give render_crop's crops in fp32, fp16 and bf16.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "lorat/crop.h"
#include "lorat/cuda/crop_kernels.h"
#include "lorat/cuda/crop_pixel.h"
#include "lorat/cuda/device.h"
#include "lorat/cuda/frame_upload.h"
#include "lorat/error.h"

using namespace lorat;

namespace {

const PixelFormat kAllFormats[] = {PixelFormat::RGB,  PixelFormat::BGR,  PixelFormat::RGBx, PixelFormat::BGRx, PixelFormat::xRGB,
                                   PixelFormat::xBGR, PixelFormat::RGBA, PixelFormat::BGRA, PixelFormat::ARGB, PixelFormat::ABGR,
                                   PixelFormat::I420, PixelFormat::NV12, PixelFormat::GRAY8};

// A frame of random bytes (padding included) in any format, with padded (odd) strides.
struct TestFrame {
  std::vector<uint8_t> bytes[3];
  ImageView view;
};

TestFrame make_frame(PixelFormat format, int w, int h, int padding, uint32_t seed) {
  std::mt19937 rng(seed);
  TestFrame f;
  f.view.format = format;
  f.view.width = w, f.view.height = h;
  const int cw = (w + 1) / 2, ch = (h + 1) / 2;
  int row[3] = {0, 0, 0}, rows[3] = {h, 0, 0};
  switch (format) {
    case PixelFormat::GRAY8: row[0] = w; break;
    case PixelFormat::I420: row[0] = w, row[1] = row[2] = cw, rows[1] = rows[2] = ch; break;
    case PixelFormat::NV12: row[0] = w, row[1] = 2 * cw, rows[1] = ch; break;
    case PixelFormat::RGB:
    case PixelFormat::BGR: row[0] = 3 * w; break;
    default: row[0] = 4 * w; break;
  }
  for (int p = 0; p < 3; ++p) {
    if (!row[p]) continue;
    f.view.strides[p] = row[p] + padding;
    f.bytes[p].resize(size_t(f.view.strides[p]) * rows[p]);
    for (auto& b : f.bytes[p]) b = uint8_t(rng());
    f.view.planes[p] = f.bytes[p].data();
  }
  f.view.validate();
  return f;
}

// The crop as the kernel computes it, pixel by pixel on the CPU.
std::vector<float> crop_by_pixel(const cuda::FrameDesc& frame, const cuda::CropJob& job, int S) {
  std::vector<float> out(size_t(3) * S * S);
  const size_t plane = size_t(S) * S;
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      float rgb[3];
      cuda::crop_pixel(frame, job, x, y, rgb);
      for (int c = 0; c < 3; ++c) out[c * plane + size_t(y) * S + x] = rgb[c];
    }
  return out;
}

std::vector<float> reference(const ImageView& frame, const CropPlan& plan, const double fill[3]) {
  std::vector<float> out(size_t(3) * plan.size * plan.size);
  render_crop(frame, plan, fill, out.data());
  return out;
}

// How many values differ from the crop's fill colour: a crop that is all fill would let a kernel
// that never reads the frame pass.
int non_fill_values(const std::vector<float>& crop, const cuda::CropJob& job, int S) {
  int n = 0;
  const size_t plane = size_t(S) * S;
  for (int c = 0; c < 3; ++c)
    for (size_t i = 0; i < plane; ++i) n += crop[c * plane + i] != job.fill[c];
  return n;
}

struct Case {
  const char* what;
  Box box;
  double factor;
  int size;
};

// Downscaling, upscaling, partly outside on two sides, entirely outside (all fill), and a crop that
// covers the whole frame, on a frame with odd sizes.
const Case kCases[] = {
    {"downscale", {40, 30, 60, 40}, 2.0, 32},     {"upscale", {70, 50, 6, 5}, 2.0, 64},
    {"top-left outside", {-10, -8, 30, 25}, 4.0, 48}, {"bottom-right outside", {140, 80, 30, 25}, 4.0, 40},
    {"all outside", {900, 900, 10, 10}, 2.0, 16}, {"whole frame", {60, 40, 40, 20}, 6.0, 56},
};

const double kFill[3] = {12.5, 130.25, 251.0};

}  // namespace

TEST(CudaCropHost, PerPixelArithmeticIsRenderCropForEveryFormat) {
  for (PixelFormat format : kAllFormats) {
    for (int padding : {0, 5}) {
      TestFrame f = make_frame(format, 161, 97, padding, 7 + padding);
      for (const Case& k : kCases) {
        SCOPED_TRACE(std::string(pixel_format_name(format)) + ", padding " + std::to_string(padding) + ", " + k.what);
        CropPlan plan = plan_crop(k.box, k.factor, k.size, f.view.width, f.view.height);
        cuda::CropJob job = cuda::make_crop_job(plan, kFill);
        std::vector<float> want = reference(f.view, plan, kFill), got = crop_by_pixel(cuda::host_frame(f.view), job, k.size);
        ASSERT_EQ(got.size(), want.size());
        // Same float operations in the same order: bit-identical, not merely close.
        size_t differ = 0;
        for (size_t i = 0; i < want.size(); ++i) differ += std::memcmp(&got[i], &want[i], sizeof(float)) != 0;
        EXPECT_EQ(differ, 0u);
        if (std::string(k.what) == "all outside") EXPECT_EQ(non_fill_values(want, job, k.size), 0);
        else EXPECT_GT(non_fill_values(want, job, k.size), k.size * k.size / 2);
      }
    }
  }
}

TEST(CudaCropHost, TinyOddFramesAndEveryCropSizeMatch) {
  // A 1x1 and a 3x5 frame (chroma planes of one sample), crops of 1..9 px: the clamps of the
  // bilinear taps at both ends.
  for (PixelFormat format : {PixelFormat::I420, PixelFormat::NV12, PixelFormat::BGRx, PixelFormat::GRAY8}) {
    for (auto [w, h] : {std::pair{1, 1}, std::pair{3, 5}}) {
      TestFrame f = make_frame(format, w, h, 3, 11);
      for (int S = 1; S <= 9; ++S) {
        SCOPED_TRACE(std::string(pixel_format_name(format)) + " " + std::to_string(w) + "x" + std::to_string(h) + ", S " + std::to_string(S));
        CropPlan plan = plan_crop(Box{0, 0, double(w), double(h)}, 1.5, S, w, h);
        cuda::CropJob job = cuda::make_crop_job(plan, kFill);
        std::vector<float> want = reference(f.view, plan, kFill), got = crop_by_pixel(cuda::host_frame(f.view), job, S);
        for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "value " << i;
      }
    }
  }
}

TEST(CudaCropHost, ABandOfRowsReadsAsTheWholeFrame) {
  // What FrameUpload puts on the device: rows from an even first_row on, each plane packed tight.
  // Reading it with first_row set must give the crops of the whole frame.
  for (PixelFormat format : {PixelFormat::I420, PixelFormat::NV12, PixelFormat::RGB, PixelFormat::ARGB, PixelFormat::GRAY8}) {
    SCOPED_TRACE(pixel_format_name(format));
    TestFrame f = make_frame(format, 161, 97, 5, 3);
    CropPlan plan = plan_crop(Box{50, 41, 30, 20}, 2.0, 40, 161, 97);
    ASSERT_GT(plan.frame_rect.y1, 1);
    cuda::CropJob job = cuda::make_crop_job(plan, kFill);
    cuda::FrameDesc band = cuda::host_frame(f.view);
    band.first_row = plan.frame_rect.y1 & ~1;
    std::vector<uint8_t> copies[3];
    for (int p = 0; p < 3 && f.view.planes[p]; ++p) {
      const bool chroma = p > 0;
      const int first = chroma ? band.first_row / 2 : band.first_row, last = chroma ? (plan.frame_rect.y2 - 1) / 2 : plan.frame_rect.y2 - 1;
      const int tight = f.view.strides[p] - 5;
      for (int r = first; r <= last; ++r)
        copies[p].insert(copies[p].end(), f.view.planes[p] + size_t(r) * f.view.strides[p], f.view.planes[p] + size_t(r) * f.view.strides[p] + tight);
      band.planes[p] = copies[p].data();
      band.strides[p] = tight;
    }
    std::vector<float> want = reference(f.view, plan, kFill), got = crop_by_pixel(band, job, 40);
    for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "value " << i;
  }
}

TEST(CudaCropHost, AFailedCudaCallIsALoratErrorWithCudasMessage) {
  // Without a GPU cudaMalloc fails for want of a device, with one for want of memory: either way
  // the caller gets lorat::Error naming the call.
  cuda::DeviceBuffer buffer;
  try {
    buffer.reserve(size_t(1) << 60);
    FAIL() << "an exabyte was allocated";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA: cudaMalloc failed: "), std::string::npos) << e.what();
  }
  EXPECT_EQ(buffer.capacity(), 0u);
}

// ---- Device tests -------------------------------------------------------------------------------

namespace {

#define REQUIRE_CUDA_DEVICE()                                                                              \
  do {                                                                                                     \
    const char* why = nullptr;                                                                             \
    if (cuda::device_count(&why) == 0)                                                                     \
      GTEST_SKIP() << "no CUDA device: " << (why ? why : "cudaGetDeviceCount found none") << "; the kernel " \
                   << "was compiled but not run";                                                          \
  } while (0)

float half_to_float(uint16_t h) {
  const int sign = h >> 15, exponent = (h >> 10) & 31, mantissa = h & 1023;
  float v = exponent == 0 ? std::ldexp(float(mantissa), -24)
                          : (exponent == 31 ? (mantissa ? NAN : INFINITY) : std::ldexp(float(mantissa | 1024), exponent - 25));
  return sign ? -v : v;
}

float bf16_to_float(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

const char* type_name(cuda::OutputType t) {
  return t == cuda::OutputType::Float32 ? "fp32" : (t == cuda::OutputType::Float16 ? "fp16" : "bf16");
}

// Runs one upload and one launch for all the plans and returns the crops as floats on the host.
std::vector<float> run_on_device(const ImageView& frame, const std::vector<cuda::CropJob>& jobs, int S, cuda::OutputType type,
                                 cuda::FrameUpload& upload) {
  cuda::CropLauncher launcher;
  const size_t count = jobs.size() * 3 * S * S, elem = type == cuda::OutputType::Float32 ? 4 : 2;
  void* out = nullptr;
  EXPECT_EQ(cudaMalloc(&out, count * elem), cudaSuccess);
  // All bits set is NaN in all three types: a value the kernel does not write fails the comparison.
  EXPECT_EQ(cudaMemset(out, 0xFF, count * elem), cudaSuccess);
  cuda::FrameDesc device_frame = upload.upload(frame, jobs.data(), int(jobs.size()), nullptr);
  launcher.launch(device_frame, jobs.data(), int(jobs.size()), S, type, out, nullptr);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<uint8_t> raw(count * elem);
  EXPECT_EQ(cudaMemcpy(raw.data(), out, raw.size(), cudaMemcpyDeviceToHost), cudaSuccess);
  cudaFree(out);
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i) {
    if (type == cuda::OutputType::Float32) {
      std::memcpy(&values[i], &raw[i * 4], 4);
    } else {
      uint16_t h;
      std::memcpy(&h, &raw[i * 2], 2);
      values[i] = type == cuda::OutputType::Float16 ? half_to_float(h) : bf16_to_float(h);
    }
  }
  return values;
}

// Round-to-nearest into the type costs at most half a unit in the last place.
float tolerance(float want, cuda::OutputType type) {
  switch (type) {
    case cuda::OutputType::Float32: return 1e-5f;
    case cuda::OutputType::Float16: return std::fabs(want) * 0x1p-11f + 0x1p-24f;
    default: return std::fabs(want) * 0x1p-8f;
  }
}

}  // namespace

TEST(CudaCropDevice, OneLaunchGivesRenderCropForEveryTargetFormatAndType) {
  REQUIRE_CUDA_DEVICE();
  const int S = 48;
  // Five targets of one search size: inside (down- and upscaled), cut by the frame's borders, and
  // one entirely outside (all fill).
  const Box boxes[] = {{40, 30, 60, 40}, {70, 50, 6, 5}, {-10, -8, 30, 25}, {140, 80, 30, 25}, {900, 900, 10, 10}};
  const double fills[5][3] = {{12.5, 130.25, 251}, {0, 0, 0}, {255, 255, 255}, {100, 50, 25}, {3, 200, 77}};
  size_t compared = 0;
  for (PixelFormat format : kAllFormats) {
    TestFrame f = make_frame(format, 161, 97, 5, 21);
    std::vector<CropPlan> plans;
    std::vector<cuda::CropJob> jobs;
    for (int k = 0; k < 5; ++k) {
      plans.push_back(plan_crop(boxes[k], 4.0, S, 161, 97));
      jobs.push_back(cuda::make_crop_job(plans.back(), fills[k]));
    }
    cuda::FrameUpload upload;
    for (auto type : {cuda::OutputType::Float32, cuda::OutputType::Float16, cuda::OutputType::BFloat16}) {
      std::vector<float> got = run_on_device(f.view, jobs, S, type, upload);
      for (int k = 0; k < 5; ++k) {
        SCOPED_TRACE(std::string(pixel_format_name(format)) + ", " + type_name(type) + ", target " + std::to_string(k));
        std::vector<float> want = reference(f.view, plans[k], fills[k]);
        if (k < 4) {
          ASSERT_GT(non_fill_values(want, jobs[k], S), S * S / 2);  // the frame is really read
        }
        const float* g = got.data() + size_t(k) * want.size();
        for (size_t i = 0; i < want.size(); ++i, ++compared)
          ASSERT_NEAR(g[i], want[i], tolerance(want[i], type)) << "value " << i;  // NaN (unwritten) fails too
      }
    }
  }
  EXPECT_EQ(compared, size_t(13) * 3 * 5 * 3 * S * S);
}

TEST(CudaCropDevice, OnlyTheRowsTheCropsReadAreUploadedAndTheResultIsTheSame) {
  REQUIRE_CUDA_DEVICE();
  const int S = 32;
  for (PixelFormat format : {PixelFormat::NV12, PixelFormat::I420, PixelFormat::BGRx}) {
    SCOPED_TRACE(pixel_format_name(format));
    TestFrame f = make_frame(format, 320, 241, 16, 5);
    std::vector<CropPlan> plans = {plan_crop(Box{20, 101, 30, 20}, 2.0, S, 320, 241), plan_crop(Box{200, 120, 20, 30}, 2.0, S, 320, 241)};
    std::vector<cuda::CropJob> jobs;
    for (const auto& p : plans) jobs.push_back(cuda::make_crop_job(p, kFill));
    cuda::FrameUpload upload;
    std::vector<float> got = run_on_device(f.view, jobs, S, cuda::OutputType::Float32, upload);
    const int y0 = std::min(plans[0].frame_rect.y1, plans[1].frame_rect.y1), y1 = std::max(plans[0].frame_rect.y2, plans[1].frame_rect.y2);
    EXPECT_EQ(upload.last_rows(), y1 - (y0 & ~1));
    EXPECT_LT(upload.last_rows(), 241 / 2);
    for (size_t k = 0; k < plans.size(); ++k) {
      std::vector<float> want = reference(f.view, plans[k], kFill);
      ASSERT_GT(non_fill_values(want, jobs[k], S), S * S);
      for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[k * want.size() + i], want[i], 1e-5f) << "target " << k << " value " << i;
    }
  }
}

TEST(CudaCropDevice, TheUploadBufferIsReusedAcrossFramesOfDifferentSizes) {
  REQUIRE_CUDA_DEVICE();
  // A big frame, then a small one, then a big one again through one FrameUpload: each result is
  // that frame's own crop (nothing stale from the previous frame).
  cuda::FrameUpload upload;
  const int S = 24;
  for (auto [w, h, seed] : {std::tuple{640, 480, 1}, std::tuple{33, 17, 2}, std::tuple{640, 480, 3}}) {
    TestFrame f = make_frame(PixelFormat::NV12, w, h, 0, seed);
    CropPlan plan = plan_crop(Box{w / 4.0, h / 4.0, w / 2.0, h / 2.0}, 2.0, S, w, h);
    std::vector<cuda::CropJob> jobs = {cuda::make_crop_job(plan, kFill)};
    std::vector<float> got = run_on_device(f.view, jobs, S, cuda::OutputType::Float32, upload);
    std::vector<float> want = reference(f.view, plan, kFill);
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5f) << w << "x" << h << " value " << i;
  }
}
