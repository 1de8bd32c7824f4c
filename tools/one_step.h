// lorat eval --one-step: each frame is searched around the previous frame's ground truth, with a
// template cropped there too, so every answer is scored on its own, without the drift of the ones
// before it. Beside the model it scores the previous ground-truth box taken as the answer: a
// tracker worth running beats that.
#pragma once
#include <vector>

#include "lorat/sequence.h"
#include "model_loading.h"

namespace lorat_cli {

void print_one_step(const LoadedModel& model, const std::vector<lorat::Sequence>& sequences);

}  // namespace lorat_cli
