// Growing a trained model deeper: more blocks without losing what the model has learned.
#pragma once
#include <cstdint>

#include "model.h"

namespace lorat {

// A copy of `source` with `depth` blocks. The blocks past its last are copies of its last block
// whose LayerScale gammas are all `layer_scale`: at 0 each adds nothing to the residual stream, so
// the deeper model gives exactly the source's boxes, and training opens the new blocks from there.
// The source must hold no unmerged LoRA adapter. Errors are one line.
LoratModel deepen(const LoratModelImpl& source, int64_t depth, double layer_scale);

}  // namespace lorat
