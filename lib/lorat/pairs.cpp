#include "pairs.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

#include "crop.h"
#include "error.h"

namespace lorat {

namespace {

constexpr float kMean[3] = {0.485f, 0.456f, 0.406f};
constexpr float kStd[3] = {0.229f, 0.224f, 0.225f};

// splitmix64: independent, reproducible seeds from (seed, index, item).
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

cv::Mat load(const std::string& path) {
  cv::Mat m = cv::imread(path, cv::IMREAD_COLOR);
  if (m.empty()) throw Error(path + ": cannot decode the image");
  return m;
}

ImageView view(const cv::Mat& bgr) { return ImageView::packed(PixelFormat::BGR, bgr.data, bgr.cols, bgr.rows, int(bgr.step[0])); }

enum class Effect { Gray, Solarise, Blur, None };

struct Photometric {
  float brightness, contrast, saturation;
  Effect effect;
  float blur_sigma;
};

// Colour jitter and the per-pair effect on a raw (0..255, planar RGB) crop of side n, in place.
void photometric(float* img, int n, const Photometric& p) {
  const size_t plane = size_t(n) * n;
  float mean_gray = 0;
  for (size_t i = 0; i < plane; ++i) mean_gray += 0.299f * img[i] + 0.587f * img[plane + i] + 0.114f * img[2 * plane + i];
  mean_gray /= float(plane);
  for (size_t i = 0; i < plane; ++i) {
    float rgb[3] = {img[i], img[plane + i], img[2 * plane + i]};
    for (float& v : rgb) v *= p.brightness;
    for (float& v : rgb) v = (v - mean_gray) * p.contrast + mean_gray;
    float gray = 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
    for (float& v : rgb) v = gray + (v - gray) * p.saturation;
    if (p.effect == Effect::Gray) {
      gray = 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
      rgb[0] = rgb[1] = rgb[2] = gray;
    }
    for (int c = 0; c < 3; ++c) {
      float v = std::clamp(rgb[c], 0.0f, 255.0f);
      if (p.effect == Effect::Solarise && v >= 128) v = 255 - v;
      img[c * plane + i] = v;
    }
  }
  if (p.effect == Effect::Blur) {
    for (int c = 0; c < 3; ++c) {
      cv::Mat m(n, n, CV_32F, img + c * plane);
      cv::GaussianBlur(m, m, cv::Size(0, 0), p.blur_sigma);
    }
  }
}

void normalise(float* img, int n) {
  const size_t plane = size_t(n) * n;
  for (int c = 0; c < 3; ++c)
    for (size_t i = 0; i < plane; ++i) img[c * plane + i] = (img[c * plane + i] / 255.0f - kMean[c]) / kStd[c];
}

void flip_image(float* img, int n) {
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < n; ++y) std::reverse(img + (size_t(c) * n + y) * n, img + (size_t(c) * n + y + 1) * n);
}

// The frame resized to `stretch` times its width (at least 1 px), and the box with it, by the
// ratio actually applied.
cv::Mat stretch_width(const cv::Mat& frame, double stretch, Box& box) {
  const int width = std::max(1, int(std::lround(frame.cols * stretch)));
  const double applied = double(width) / frame.cols;
  box.x *= applied;
  box.w *= applied;
  cv::Mat out;
  cv::resize(frame, out, cv::Size(width, frame.rows), 0, 0, cv::INTER_LINEAR);
  return out;
}

}  // namespace

PairSource::PairSource(std::vector<const Dataset*> datasets, std::vector<double> weights, ModelConfig config, PairOptions options)
    : config_(std::move(config)), options_(options) {
  if (weights.size() != datasets.size()) weights.assign(datasets.size(), 1.0);
  double total = 0;
  for (size_t d = 0; d < datasets.size(); ++d) {
    std::vector<Entry> entries;
    for (const auto& seq : datasets[d]->sequences) {
      Entry e{&seq, {}};
      for (size_t i = 0; i < seq.usable.size(); ++i)
        if (seq.usable[i]) e.usable.push_back(int(i));
      if (!e.usable.empty() && (seq.still || e.usable.size() >= 2)) entries.push_back(std::move(e));
    }
    // A dataset's weight is shared by its sequences, so datasets mix as asked whatever their sizes.
    for (auto& e : entries) {
      total += weights[d] / double(entries.size());
      cumulative_.push_back(total);
      pool_.push_back(std::move(e));
    }
  }
  if (pool_.empty()) throw Error("no usable training sequence in the given datasets");
}

void PairSource::make_pair(uint64_t seed, float* z, int64_t* mask, float* x, float* target) const {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uni(0, 1);
  std::normal_distribution<double> normal(0, 1);
  const int T = config_.template_size, S = config_.search_size, g = config_.template_grid();
  for (int attempt = 0;; ++attempt) {
    // Sequence by weight, then a template frame and a search frame within max_gap.
    double r = uni(rng) * cumulative_.back();
    size_t pick = size_t(std::upper_bound(cumulative_.begin(), cumulative_.end(), r) - cumulative_.begin());
    const Entry& e = pool_[std::min(pick, pool_.size() - 1)];
    int zi = e.usable[size_t(uni(rng) * e.usable.size()) % e.usable.size()];
    std::vector<int> near;
    for (int f : e.usable)
      if (std::abs(f - zi) <= options_.max_gap) near.push_back(f);
    int xi = e.seq->still ? zi : near[size_t(uni(rng) * near.size()) % near.size()];
    Box zb = e.seq->boxes[zi], xb = e.seq->boxes[xi];
    cv::Mat zimg = load(e.seq->frames[zi]);
    cv::Mat ximg = xi == zi ? zimg : load(e.seq->frames[xi]);
    // Drawn only when asked for, so the spec's pairs stay as they were.
    if (options_.aspect_jitter > 0) {
      double stretch = std::exp(normal(rng) * options_.aspect_jitter);
      zimg = stretch_width(zimg, stretch, zb);
      if (xi == zi) ximg = zimg, xb = zb;
      else ximg = stretch_width(ximg, stretch, xb);
    }

    // Jittered search box: log-normal size, uniform centre shift in units of sqrt(w h).
    double scale = std::exp(normal(rng) * options_.scale_jitter);
    double jw = xb.w * scale, jh = xb.h * scale, reach = std::sqrt(jw * jh) * options_.centre_jitter;
    double cx = xb.cx() + (uni(rng) - 0.5) * reach, cy = xb.cy() + (uni(rng) - 0.5) * reach;
    Box jittered{cx - jw / 2, cy - jh / 2, jw, jh};

    CropPlan xplan = plan_crop(jittered, config_.search_factor, S, ximg.cols, ximg.rows);
    Box in_crop = xplan.effective.to_crop(xb);
    bool visible = in_crop.w >= options_.min_object_px && in_crop.h >= options_.min_object_px && in_crop.cx() > 0 && in_crop.cy() > 0 &&
                   in_crop.cx() < S && in_crop.cy() < S;
    if (!visible && attempt < 20) continue;

    double fill[3];
    mean_rgb(view(zimg), fill);
    CropPlan zplan = plan_crop(zb, config_.template_factor, T, zimg.cols, zimg.rows);
    render_crop_raw(view(zimg), zplan, fill, z);
    render_crop_raw(view(ximg), xplan, fill, x);
    foreground_mask(zb, zplan.effective, T, g, mask);

    const double j = options_.colour_jitter;
    Photometric p{float(1 + (uni(rng) * 2 - 1) * j), float(1 + (uni(rng) * 2 - 1) * j), float(1 + (uni(rng) * 2 - 1) * j),
                  Effect(int(uni(rng) * 3) % 3), float(0.1 + uni(rng) * 1.9)};
    // Drawn only when asked for, so the spec's default keeps every pair as it was.
    if (options_.effect_prob < 1 && uni(rng) >= options_.effect_prob) p.effect = Effect::None;
    photometric(z, T, p);
    photometric(x, S, p);
    normalise(z, T);
    normalise(x, S);
    double t[4] = {in_crop.x / S, in_crop.y / S, in_crop.x2() / S, in_crop.y2() / S};
    if (uni(rng) < options_.flip) {
      flip_image(z, T);
      flip_image(x, S);
      for (int y = 0; y < g; ++y) std::reverse(mask + size_t(y) * g, mask + size_t(y + 1) * g);
      double x1 = 1 - t[2], x2 = 1 - t[0];
      t[0] = x1, t[2] = x2;
    }
    for (int k = 0; k < 4; ++k) target[k] = float(t[k]);
    return;
  }
}

Batch PairSource::batch(uint64_t seed, uint64_t index, int size, int first, int count) const {
  const int T = config_.template_size, S = config_.search_size, g = config_.template_grid();
  if (count < 0) count = size - first;
  Batch b;
  b.z = torch::empty({count, 3, T, T});
  b.x = torch::empty({count, 3, S, S});
  b.z_mask = torch::empty({count, g, g}, at::kLong);
  b.target = torch::empty({count, 4});
  for (int i = 0; i < count; ++i)
    make_pair(mix(mix(seed) ^ mix(index * 1000003ULL + uint64_t(first + i))), b.z[i].data_ptr<float>(), b.z_mask[i].data_ptr<int64_t>(),
              b.x[i].data_ptr<float>(), b.target[i].data_ptr<float>());
  return b;
}

}  // namespace lorat
