#include "synth_scene.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <opencv2/imgproc.hpp>

namespace lorat_cli {

namespace {

using Rng = std::mt19937_64;

double uni(Rng& r, double a, double b) { return std::uniform_real_distribution<double>(a, b)(r); }
double gauss(Rng& r, double sigma) { return std::normal_distribution<double>(0, sigma)(r); }
bool chance(Rng& r, double p) { return uni(r, 0, 1) < p; }
size_t pick(Rng& r, size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(r); }

// A patch cut from a photo, with a rectangular or elliptical alpha.
cv::Mat photo_patch(const SynthAssets& a, Rng& r) {
  const cv::Mat& p = a.photos[pick(r, a.photos.size())];
  int w = std::clamp(int(uni(r, 0.08, 0.35) * p.cols), 8, p.cols - 1);
  int h = std::clamp(int(w * std::exp(gauss(r, 0.45))), 8, p.rows - 1);
  cv::Rect rect(int(pick(r, size_t(p.cols - w))), int(pick(r, size_t(p.rows - h))), w, h);
  cv::Mat bgra;
  cv::cvtColor(p(rect), bgra, cv::COLOR_BGR2BGRA);
  if (chance(r, 0.5)) {
    cv::Mat alpha(h, w, CV_8U, cv::Scalar(0));
    cv::ellipse(alpha, {w / 2, h / 2}, {w / 2, h / 2}, 0, 0, 360, cv::Scalar(255), cv::FILLED, cv::LINE_AA);
    cv::insertChannel(alpha, bgra, 3);
  }
  return bgra;
}

cv::Mat any_object(const SynthAssets& a, Rng& r) {
  if (a.photos.empty() || (!a.objects.empty() && chance(r, 0.65))) return a.objects[pick(r, a.objects.size())];
  return photo_patch(a, r);
}

// One of the real objects cut out of the motion videos (the caller checks there are some).
cv::Mat any_cutout(const SynthAssets& a, Rng& r) { return a.cutouts[pick(r, a.cutouts.size())]; }

// A look-alike: the same object with its colours shifted (or not at all).
cv::Mat recoloured(const cv::Mat& look, Rng& r) {
  cv::Mat out = look.clone();
  if (chance(r, 0.3)) return out;
  std::vector<cv::Mat> ch;
  cv::split(out, ch);
  for (int c = 0; c < 3; ++c) ch[c].convertTo(ch[c], -1, uni(r, 0.6, 1.4), gauss(r, 20));
  cv::merge(ch, out);
  return out;
}

// One object's motion: centre, velocity, size (sqrt of w*h), aspect multiplier, rotation.
struct Mover {
  cv::Mat look;  // CV_8UC4
  double cx = 0, cy = 0, vx = 0, vy = 0, accel = 1;
  double size = 40, aspect = 1, size_trend = 0;
  double angle = 0, spin = 0;
  bool rotates = false;

  void step(Rng& r, cv::Size canvas) {
    vx = 0.9 * vx + gauss(r, accel), vy = 0.9 * vy + gauss(r, accel);
    cx += vx, cy += vy;
    // Bounce back in: the object's centre stays inside 5% .. 95% of the canvas.
    auto bounce = [](double& p, double& v, double lo, double hi) {
      if (p < lo) p = lo + (lo - p), v = std::abs(v);
      if (p > hi) p = hi - (p - hi), v = -std::abs(v);
      p = std::clamp(p, lo, hi);
    };
    bounce(cx, vx, 0.05 * canvas.width, 0.95 * canvas.width);
    bounce(cy, vy, 0.05 * canvas.height, 0.95 * canvas.height);
    size *= std::exp(size_trend + gauss(r, 0.02));
    size = std::clamp(size, 10.0, 0.6 * std::min(canvas.width, canvas.height));
    aspect *= std::exp(gauss(r, 0.01));
    if (rotates) angle = std::clamp(angle + spin + gauss(r, 0.5), -35.0, 35.0);
  }
};

// An object warped into place: its pixels over `roi` of the canvas (empty roi: out of view).
struct Placed {
  cv::Rect roi;
  cv::Mat bgra;
  double full_area = 0;  // area of the opaque part, as if nothing were cut off by the canvas edge
};

Placed place(const Mover& m, cv::Size canvas) {
  cv::Mat look = m.look;
  double s = m.size / std::sqrt(double(look.cols) * look.rows);
  if (s < 0.5) {  // shrink by area first: a plain affine warp would alias
    cv::resize(look, look, {}, s * 1.5, s * 1.5, cv::INTER_AREA);
    if (look.empty() || look.cols < 2 || look.rows < 2) look = m.look;
    s = m.size / std::sqrt(double(look.cols) * look.rows);
  }
  double sx = s / std::sqrt(m.aspect), sy = s * std::sqrt(m.aspect);
  double a = m.angle * CV_PI / 180, c = std::cos(a), sn = std::sin(a);
  // canvas = R * S * (p - look centre) + centre
  cv::Matx23d M(c * sx, -sn * sy, 0, sn * sx, c * sy, 0);
  M(0, 2) = m.cx - (M(0, 0) * look.cols / 2.0 + M(0, 1) * look.rows / 2.0);
  M(1, 2) = m.cy - (M(1, 0) * look.cols / 2.0 + M(1, 1) * look.rows / 2.0);
  double xs[4], ys[4];
  int i = 0;
  for (double px : {0.0, double(look.cols)})
    for (double py : {0.0, double(look.rows)}) {
      xs[i] = M(0, 0) * px + M(0, 1) * py + M(0, 2);
      ys[i] = M(1, 0) * px + M(1, 1) * py + M(1, 2);
      ++i;
    }
  cv::Rect bound(cv::Point(int(std::floor(*std::min_element(xs, xs + 4))), int(std::floor(*std::min_element(ys, ys + 4)))),
                 cv::Point(int(std::ceil(*std::max_element(xs, xs + 4))) + 1, int(std::ceil(*std::max_element(ys, ys + 4))) + 1));
  Placed p;
  p.roi = bound & cv::Rect({0, 0}, canvas);
  cv::Mat alpha;
  cv::extractChannel(look, alpha, 3);
  p.full_area = cv::countNonZero(alpha > 127) * sx * sy;
  if (p.roi.empty()) return p;
  M(0, 2) -= p.roi.x, M(1, 2) -= p.roi.y;
  cv::warpAffine(look, p.bgra, M, p.roi.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return p;
}

void blend(cv::Mat& canvas, const Placed& p) {
  if (p.roi.empty()) return;
  for (int y = 0; y < p.roi.height; ++y) {
    const uint8_t* s = p.bgra.ptr<uint8_t>(y);
    uint8_t* d = canvas.ptr<uint8_t>(p.roi.y + y) + 3 * p.roi.x;
    for (int x = 0; x < p.roi.width; ++x, s += 4, d += 3) {
      int a = s[3];
      for (int c = 0; c < 3; ++c) d[c] = uint8_t((s[c] * a + d[c] * (255 - a) + 127) / 255);
    }
  }
}

// Opaque pixels of `p` as a canvas-sized mask.
cv::Mat opaque_mask(const Placed& p, cv::Size canvas) {
  cv::Mat mask(canvas, CV_8U, cv::Scalar(0));
  if (p.roi.empty()) return mask;
  cv::Mat alpha;
  cv::extractChannel(p.bgra, alpha, 3);
  mask(p.roi).setTo(255, alpha > 127);
  return mask;
}

// The background of every frame: consecutive video frames, or a photo seen by a drifting camera.
std::vector<cv::Mat> backgrounds(const SynthAssets& a, Rng& r, int frames, cv::Size canvas) {
  std::vector<cv::Mat> out;
  bool video = !a.video_frames.empty() && (a.photos.empty() || chance(r, 0.6));
  bool mirror = chance(r, 0.5);
  if (video) {
    const auto& v = a.video_frames[pick(r, a.video_frames.size())];
    int step = 1 + int(pick(r, 3));
    int n = int(v.size()), start = int(pick(r, size_t(n)));
    for (int i = 0; i < frames; ++i) {
      int k = (start + i * step) % (2 * n);  // back and forth through a short video
      cv::Mat f;
      cv::resize(v[size_t(k < n ? k : 2 * n - 1 - k)], f, canvas, 0, 0, cv::INTER_AREA);
      if (mirror) cv::flip(f, f, 1);
      out.push_back(f);
    }
    return out;
  }
  const cv::Mat& photo = a.photos[pick(r, a.photos.size())];
  double aspect = double(canvas.width) / canvas.height;
  double w = uni(r, 0.4, 0.9) * std::min(double(photo.cols), photo.rows * aspect);
  double x = uni(r, 0, photo.cols - w), y = uni(r, 0, photo.rows - w / aspect);
  double vx = gauss(r, 1.5), vy = gauss(r, 1.0), zoom = std::exp(gauss(r, 0.005));
  for (int i = 0; i < frames; ++i) {
    double h = w / aspect;
    cv::Matx23d M(canvas.width / w, 0, -x * canvas.width / w, 0, canvas.height / h, -y * canvas.height / h);
    cv::Mat f;
    cv::warpAffine(photo, f, M, canvas, cv::INTER_LINEAR, cv::BORDER_REFLECT);
    if (mirror) cv::flip(f, f, 1);
    out.push_back(f);
    vx += gauss(r, 0.3), vy += gauss(r, 0.3);
    double cx = x + w / 2 + vx, cy = y + h / 2 + vy;
    w = std::clamp(w * zoom, 0.2 * photo.cols, double(photo.cols));
    x = std::clamp(cx - w / 2, 0.0, photo.cols - w), y = std::clamp(cy - w / aspect / 2, 0.0, std::max(0.0, photo.rows - w / aspect));
  }
  return out;
}

cv::Mat line_kernel(Rng& r) {
  int len = 3 + 2 * int(pick(r, 4));
  cv::Mat k(len, len, CV_32F, cv::Scalar(0));
  double a = uni(r, 0, CV_PI);
  cv::line(k, {len / 2 - int(std::round(std::cos(a) * len / 2)), len / 2 - int(std::round(std::sin(a) * len / 2))},
           {len / 2 + int(std::round(std::cos(a) * len / 2)), len / 2 + int(std::round(std::sin(a) * len / 2))}, cv::Scalar(1));
  return k / cv::sum(k)[0];
}

}  // namespace

std::vector<SynthFrame> synth_sequence(const SynthAssets& assets, uint64_t seed, uint64_t index, int frames, cv::Size canvas) {
  Rng r(seed * 0x9E3779B97F4A7C15ull + index * 0xBF58476D1CE4E5B9ull + 1);
  std::vector<cv::Mat> bg = backgrounds(assets, r, frames, canvas);

  Mover target;
  // No cut-outs, no draw: the sequences of a run without them stay as they were.
  const bool cutout = !assets.cutouts.empty() && chance(r, assets.cutout_share);
  target.look = cutout ? any_cutout(assets, r) : any_object(assets, r);
  target.cx = uni(r, 0.2, 0.8) * canvas.width, target.cy = uni(r, 0.2, 0.8) * canvas.height;
  target.size = std::exp(uni(r, std::log(16.0), std::log(0.4 * canvas.height)));
  // A third of the targets are tall and thin, like people; real footage is full of them. A cut-out
  // keeps about its own shape.
  if (cutout)
    target.aspect = std::exp(gauss(r, 0.1));
  else
    target.aspect = chance(r, 0.35) ? std::exp(uni(r, 0.4, 1.2)) : std::exp(gauss(r, 0.3));
  target.accel = chance(r, 0.2) ? uni(r, 0.03, 0.12) * target.size : uni(r, 0.2, 1.5);
  target.size_trend = uni(r, -0.015, 0.015);
  target.rotates = chance(r, 0.4);
  target.angle = target.rotates ? gauss(r, 10) : 0;
  target.spin = target.rotates ? gauss(r, 1.5) : 0;

  std::vector<Mover> behind, in_front;
  int distractors = int(pick(r, 4));
  for (int i = 0; i < distractors; ++i) {
    Mover d;
    // A cut-out's distractors are often other cut-outs: people among people.
    if (cutout && chance(r, 0.5))
      d.look = any_cutout(assets, r);
    else
      d.look = chance(r, 0.35) ? recoloured(target.look, r) : any_object(assets, r);
    d.cx = uni(r, 0.1, 0.9) * canvas.width, d.cy = uni(r, 0.1, 0.9) * canvas.height;
    d.size = target.size * std::exp(gauss(r, 0.3));
    d.aspect = target.aspect * std::exp(gauss(r, 0.2));
    d.accel = uni(r, 0.2, 1.5);
    (chance(r, 0.25) ? in_front : behind).push_back(d);
  }
  // An occluder waiting where the target will pass by (the target's path is replayed first).
  if (chance(r, 0.3)) {
    Rng replay = r;
    Mover t = target;
    int meet = frames / 3 + int(pick(r, size_t(std::max(1, frames / 3))));
    for (int i = 0; i < meet; ++i) t.step(replay, canvas);
    Mover o;
    o.look = any_object(assets, r);
    o.cx = t.cx, o.cy = t.cy;
    o.size = target.size * uni(r, 0.6, 1.6);
    o.aspect = std::exp(gauss(r, 0.4));
    o.accel = 0.1;
    in_front.push_back(o);
  }

  const bool light = chance(r, 0.4), blur = chance(r, 0.2), motion_blur = chance(r, 0.15), noise = chance(r, 0.3);
  const double light_amp = uni(r, 0.1, 0.35), light_period = uni(r, 10, 60), light_phase = uni(r, 0, 2 * CV_PI);
  const double blur_sigma = uni(r, 0.5, 1.5), noise_sigma = uni(r, 2, 8);
  const cv::Mat kernel = line_kernel(r);

  std::vector<SynthFrame> out;
  for (int i = 0; i < frames; ++i) {
    if (i > 0) {
      target.step(r, canvas);
      for (auto* group : {&behind, &in_front})
        for (Mover& m : *group) m.step(r, canvas);
    }
    cv::Mat image = bg[size_t(i)];
    for (const Mover& m : behind) blend(image, place(m, canvas));
    Placed t = place(target, canvas);
    blend(image, t);
    cv::Mat visible = opaque_mask(t, canvas);
    SynthFrame f;
    cv::Mat alpha_pixels;
    cv::findNonZero(visible, alpha_pixels);
    if (!alpha_pixels.empty()) f.box = cv::boundingRect(alpha_pixels);
    for (const Mover& m : in_front) {
      Placed p = place(m, canvas);
      visible.setTo(0, opaque_mask(p, canvas));
      blend(image, p);
    }
    f.absent = f.box.area() <= 0 || cv::countNonZero(visible) < 0.15 * t.full_area;
    if (light) image.convertTo(image, -1, 1 + light_amp * std::sin(2 * CV_PI * i / light_period + light_phase));
    if (blur) cv::GaussianBlur(image, image, {0, 0}, blur_sigma);
    if (motion_blur) cv::filter2D(image, image, -1, kernel);
    if (noise) {
      cv::Mat n(image.size(), CV_16SC3);
      cv::RNG(r()).fill(n, cv::RNG::NORMAL, 0, noise_sigma);  // not cv::randn: its generator is shared
      cv::Mat wide;
      image.convertTo(wide, CV_16SC3);
      cv::Mat(wide + n).convertTo(image, CV_8UC3);
    }
    f.image = image;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace lorat_cli
