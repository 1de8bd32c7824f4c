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

}  // namespace lorat_cli
