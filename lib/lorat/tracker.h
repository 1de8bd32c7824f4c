// The tracker of the spec: any number of independent targets, one batched forward per frame.
// It takes plain image views, not GStreamer or OpenCV types.
#pragma once
#include <memory>
#include <vector>

#include "box.h"
#include "crop.h"
#include "image.h"
#include "model.h"

namespace lorat {

struct TrackerOptions {
  torch::Device device = torch::kCPU;
  double size_update_rate = 0;  // in (0, 1]: replaces the model config's size_update_rate; 0: the config's
};

struct TrackResult {
  int id = 0;
  Box box;               // frame pixels, clipped to the frame
  Box answer;            // the model's own box (clipped), before the size smoothing; `box` when unusable
  float score = 0;       // sigmoid of the score logit at the chosen cell
  int cell = 0;          // row-major cell of the blended maximum
  float margin = 0;      // best minus second-best blended score
  Transform crop;        // the effective transform of the search crop used
  bool moved = true;     // false when the prediction was degenerate and the previous box was kept
};

// Where the time of the last track() call went, in seconds.
struct TrackTimings {
  double preprocess = 0;  // search crops from the frame
  double forward = 0;     // the batched model call, results back on the CPU
  double decode = 0;      // Hann blend, argmax, inverse mapping
};

class Tracker {
 public:
  explicit Tracker(LoratModel model, TrackerOptions options = {});

  // Crops the template around box (frame pixels) and returns the target's id: `id` when it is
  // positive (a target with that id is restarted), else a new one. Throws lorat::Error for an
  // empty box or one that does not overlap the frame.
  int add_target(const ImageView& frame, const Box& box, int id = 0);
  // An id no target has yet, reserved for a later add_target (targets requested off-thread).
  int reserve_id() { return next_id_++; }
  bool remove_target(int id);
  void clear() { targets_.clear(); }
  size_t size() const { return targets_.size(); }
  std::vector<int> target_ids() const;
  // The last box of every target scaled (the video changed resolution mid-stream).
  void rescale(double sx, double sy);
  // Moves one target's last box, where the next search is centred; the template stays. Throws
  // lorat::Error for an unknown id or an empty box.
  void set_box(int id, const Box& box);
  // Swaps the model (e.g. another adapter merged into the same base) and re-embeds every
  // template with it, so tracks continue. The new model must have the same config sizes.
  void set_model(LoratModel model);

  // One step for every target on this frame (an empty result when there are none). Targets in
  // just_started (initialised on this very frame) are not searched: they report their initial
  // box with score 1.
  std::vector<TrackResult> track(const ImageView& frame, const std::vector<int>& just_started = {});

  // The template crop and mask of a target, as the model sees them (for tests).
  torch::Tensor template_crop(int id) const;
  torch::Tensor template_mask(int id) const;
  Transform template_transform(int id) const;

  const LoratModel& model() const { return model_; }
  const TrackTimings& last_timings() const { return timings_; }

 private:
  struct Target {
    int id;
    torch::Tensor z;         // (3, T, T) normalised template crop
    torch::Tensor mask;      // (g, g) int64
    torch::Tensor z_tokens;  // (1, g*g, D) embedded template
    Transform z_transform;
    double fill[3];          // mean colour of the init frame
    Box box;                 // last box
  };
  const Target& find(int id) const;

  LoratModel model_;
  TrackerOptions options_;
  std::vector<Target> targets_;
  std::vector<float> window_;
  TrackTimings timings_;
  int next_id_ = 1;
  // The CUDA search crops' device buffers (defined in tracker.cpp when the kernels are built),
  // created on the first frame on a GPU. Copies of a Tracker share them: one Tracker per thread.
  struct CudaCrops;
  std::shared_ptr<CudaCrops> cuda_crops_;
};

}  // namespace lorat
