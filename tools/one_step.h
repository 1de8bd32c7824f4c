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

// The centre shift of --reach, in units of the previous box's sqrt(w h), along both axes.
inline constexpr double kReachShift = 0.25;

// lorat eval --reach: one-step scoring with the search centred kReachShift box sizes off the previous
// truth (the four diagonals in turn). Reach is the share of the truth's offset from the search centre
// that the answer moves: 1 when the model finds the target wherever it sits in the crop, 0 when it
// answers the crop's centre. In tracking, a target moving v per frame is trailed by v (1 / reach - 1).
// The previous ground-truth box is scored beside it: its reach is 1 less the target's own motion.
void print_reach(const LoadedModel& model, const std::vector<lorat::Sequence>& sequences);

}  // namespace lorat_cli
