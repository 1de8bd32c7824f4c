// lorat eval --one-step: each frame is searched around the previous frame's ground truth, with a
// template cropped there too, so every answer is scored on its own, without the drift of the ones
// before it. Beside the model it scores the previous ground-truth box taken as the answer: a
// tracker worth running beats that. With search_scale K the search is centred on the previous
// ground truth scaled by K about its centre: a model that reads the target's size keeps its size
// bias, one that sizes its answer by the crop adds log K to it (and a tracker with it drifts).
#pragma once
#include <vector>

#include "lorat/sequence.h"
#include "model_loading.h"

namespace lorat_cli {

void print_one_step(const LoadedModel& model, const std::vector<lorat::Sequence>& sequences, double search_scale = 1);

// The search scales of --follow: the target's size is mis-set by these factors in the search crop.
inline constexpr double kFollowSmallScale = 0.77, kFollowLargeScale = 1.3;

// lorat eval --follow: one-step scoring at both scales. Follow is the change of the mean log(w/gt)
// (and h) between them, over log(1.3 / 0.77): 0 when the model reads the target's size, 1 when it
// copies the size of the crop. In tracking, a per-frame size bias b settles near b / (1 - follow).
void print_follow(const LoadedModel& model, const std::vector<lorat::Sequence>& sequences);

}  // namespace lorat_cli
