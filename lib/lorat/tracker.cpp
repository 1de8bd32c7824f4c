#include "tracker.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include "config.h"
#include "decode.h"
#include "error.h"
#ifdef LORAT_HAVE_CUDA_KERNELS
#include "cuda/crop_kernels.h"
#include "cuda/frame_upload.h"
#endif

namespace lorat {

namespace {

std::string box_str(const Box& b) {
  std::ostringstream s;
  s << b.x << "," << b.y << "," << b.w << "," << b.h;
  return s.str();
}

// A box a target can start from or move to: finite, with a positive width and height.
bool finite_with_size(const Box& b) {
  return std::isfinite(b.x) && std::isfinite(b.y) && std::isfinite(b.w) && std::isfinite(b.h) && b.w > 0 && b.h > 0;
}

}  // namespace

#ifdef LORAT_HAVE_CUDA_KERNELS
struct Tracker::CudaCrops {
  cuda::FrameUpload upload;
  cuda::CropLauncher launcher;
};

namespace {

cuda::OutputType crop_output_type(at::ScalarType t) {
  if (t == at::kFloat) return cuda::OutputType::Float32;
  if (t == at::kHalf) return cuda::OutputType::Float16;
  if (t == at::kBFloat16) return cuda::OutputType::BFloat16;
  throw Error(std::string("the CUDA crop kernel writes fp32, fp16 or bf16, not ") + c10::toString(t));
}

}  // namespace
#endif

Tracker::Tracker(LoratModel model, TrackerOptions options) : model_(std::move(model)), options_(options) {
  if (options_.size_update_rate != 0 && !ModelConfig::valid_size_update_rate(options_.size_update_rate))
    throw Error("size_update_rate must be in (0, 1], or 0 for the model's own");
  model_->eval();
  const int g = model_->config.search_grid();
  window_ = hann_window_2d(g, g);
}

std::vector<int> Tracker::target_ids() const {
  std::vector<int> ids;
  for (const auto& t : targets_) ids.push_back(t.id);
  return ids;
}

const Tracker::Target& Tracker::find(int id) const {
  for (const auto& t : targets_)
    if (t.id == id) return t;
  throw Error("no target with id " + std::to_string(id));
}

int Tracker::add_target(const ImageView& frame, const Box& box, int id) {
  frame.validate();
  if (!finite_with_size(box)) throw Error("box " + box_str(box) + ": width and height must be positive");
  if (box.x >= frame.width || box.y >= frame.height || box.x2() <= 0 || box.y2() <= 0)
    throw Error("box " + box_str(box) + " is outside the " + std::to_string(frame.width) + "x" + std::to_string(frame.height) + " frame");
  const ModelConfig& c = model_->config;
  Target t;
  t.id = id > 0 ? id : next_id_++;
  next_id_ = std::max(next_id_, t.id + 1);
  t.box = box;
  mean_rgb(frame, t.fill);
  CropPlan plan = plan_crop(box, c.template_factor, c.template_size, frame.width, frame.height);
  t.z_transform = plan.effective;
  t.z = torch::empty({3, c.template_size, c.template_size});
  render_crop(frame, plan, t.fill, t.z.data_ptr<float>());
  const int g = c.template_grid();
  t.mask = torch::empty({g, g}, at::kLong);
  foreground_mask(box, plan.effective, c.template_size, g, t.mask.data_ptr<int64_t>());
  {
    c10::InferenceMode guard;
    auto param = model_->token_type_embed;
    t.z_tokens = model_->embed_template(t.z.unsqueeze(0).to(param.device(), param.scalar_type()), t.mask.unsqueeze(0));
  }
  remove_target(t.id);
  targets_.push_back(std::move(t));
  return targets_.back().id;
}

void Tracker::rescale(double sx, double sy) {
  for (auto& t : targets_) t.box = Box{t.box.x * sx, t.box.y * sy, t.box.w * sx, t.box.h * sy};
}

void Tracker::set_box(int id, const Box& box) {
  if (!finite_with_size(box)) throw Error("set_box: the box must have a finite position and a positive size");
  const_cast<Target&>(find(id)).box = box;
}

void Tracker::set_model(LoratModel model) {
  const ModelConfig &a = model_->config, &b = model->config;
  if (a.template_size != b.template_size || a.search_size != b.search_size || a.patch != b.patch || a.dim != b.dim)
    throw Error("the new model (" + b.name + ") does not fit the running one (" + a.name + "): sizes differ");
  model->eval();
  c10::InferenceMode guard;
  auto param = model->token_type_embed;
  for (auto& t : targets_)
    t.z_tokens = model->embed_template(t.z.unsqueeze(0).to(param.device(), param.scalar_type()), t.mask.unsqueeze(0));
  model_ = std::move(model);
}

bool Tracker::remove_target(int id) {
  for (auto it = targets_.begin(); it != targets_.end(); ++it)
    if (it->id == id) {
      targets_.erase(it);
      return true;
    }
  return false;
}

torch::Tensor Tracker::template_crop(int id) const { return find(id).z; }
torch::Tensor Tracker::template_mask(int id) const { return find(id).mask; }
Transform Tracker::template_transform(int id) const { return find(id).z_transform; }

std::vector<TrackResult> Tracker::track(const ImageView& frame, const std::vector<int>& just_started) {
  std::vector<TrackResult> results;
  if (targets_.empty()) return results;
  frame.validate();
  const ModelConfig& c = model_->config;
  const int64_t S = c.search_size, g = c.search_grid();
  std::vector<size_t> searched;
  for (size_t i = 0; i < targets_.size(); ++i)
    if (std::find(just_started.begin(), just_started.end(), targets_[i].id) == just_started.end()) searched.push_back(i);
  const int64_t n = int64_t(searched.size());
  torch::Tensor scores, boxes;
  std::vector<CropPlan> plans;
  using clock = std::chrono::steady_clock;
  auto seconds_since = [](clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); };
  timings_ = {};
  auto t0 = clock::now();
  if (n > 0) {
    auto param = model_->token_type_embed;
    for (int64_t k = 0; k < n; ++k)
      plans.push_back(plan_crop(enforce_min_size(targets_[searched[k]].box, c.min_box_size), c.search_factor, S, frame.width, frame.height));
    torch::Tensor x;
#ifdef LORAT_HAVE_CUDA_KERNELS
    if (param.is_cuda()) {
      // On the GPU: the frame uploaded once (the rows the crops read), every target's crop in one
      // launch straight into the model's input in its dtype. Stream 0, LibTorch's default stream,
      // so the forward below is queued after it without a synchronisation.
      std::vector<cuda::CropJob> jobs;
      for (int64_t k = 0; k < n; ++k) jobs.push_back(cuda::make_crop_job(plans[k], targets_[searched[k]].fill));
      x = torch::empty({n, 3, S, S}, torch::TensorOptions().device(param.device()).dtype(param.scalar_type()));
      if (!cuda_crops_) cuda_crops_ = std::make_shared<CudaCrops>();
      cuda::DeviceScope on_device(param.device().index());
      cuda::FrameDesc device_frame = cuda_crops_->upload.upload(frame, jobs.data(), int(n), nullptr);
      cuda_crops_->launcher.launch(device_frame, jobs.data(), int(n), int(S), crop_output_type(param.scalar_type()), x.data_ptr(), nullptr);
    } else
#endif
    {
      x = torch::empty({n, 3, S, S});
      for (int64_t k = 0; k < n; ++k) render_crop(frame, plans[k], targets_[searched[k]].fill, x[k].data_ptr<float>());
    }
    timings_.preprocess = seconds_since(t0);
    t0 = clock::now();
    c10::InferenceMode guard;
    std::vector<torch::Tensor> z_list;
    for (size_t i : searched) z_list.push_back(targets_[i].z_tokens);
    auto out = model_->forward_embedded(at::cat(z_list, 0), x.to(param.device(), param.scalar_type()));
    if (param.is_cuda()) {
      // Scores and boxes come back in one copy: one synchronisation per frame.
      auto both = at::cat({out.score_logits.to(at::kFloat).reshape({n, g * g, 1}), out.boxes.to(at::kFloat).reshape({n, g * g, 4})}, 2)
                      .to(at::kCPU);
      scores = both.select(2, 0).contiguous();
      boxes = both.slice(2, 1, 5).contiguous();
    } else {
      scores = out.score_logits.to(at::kCPU, at::kFloat).contiguous();
      boxes = out.boxes.to(at::kCPU, at::kFloat).contiguous();
    }
    timings_.forward = seconds_since(t0);
  }
  t0 = clock::now();
  size_t k = 0;
  for (size_t i = 0; i < targets_.size(); ++i) {
    Target& t = targets_[i];
    TrackResult r;
    r.id = t.id;
    if (k >= searched.size() || searched[k] != i) {
      r.box = r.answer = t.box;
      r.score = 1;
      r.cell = -1;
      r.crop = t.z_transform;
      results.push_back(r);
      continue;
    }
    Decoded d = decode_score_map(scores[k].data_ptr<float>(), boxes[k].data_ptr<float>(), g, g, window_, float(c.window_penalty), S);
    r.score = std::isfinite(d.score) ? d.score : 0;
    r.cell = d.index;
    r.margin = d.margin;
    r.crop = plans[k].effective;
    const Box raw = plans[k].effective.to_frame(d.crop_box);
    const Box answer = clip_box(raw, frame.width, frame.height);
    const double rate = options_.size_update_rate > 0 ? options_.size_update_rate : c.size_update_rate;
    const Box predicted = clip_box(blend_size(t.box, raw, rate), frame.width, frame.height);
    // The search moves only to a valid box inside the frame; otherwise it stays where it was.
    auto usable = [](const Box& b) { return std::isfinite(b.x) && std::isfinite(b.y) && b.w > 0 && b.h > 0; };
    bool valid = usable(predicted);
    if (valid) t.box = predicted;
    r.moved = valid;
    r.box = t.box;
    r.answer = usable(answer) ? answer : t.box;
    results.push_back(r);
    ++k;
  }
  timings_.decode = seconds_since(t0);
  return results;
}

}  // namespace lorat
