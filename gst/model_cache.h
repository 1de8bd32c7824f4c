// Loaded models shared by every lorattrack in the process: one bundle (+ adapter, device,
// precision) is loaded once and released when the last element lets go of it.
#pragma once
#include <string>

#include "lorat/model.h"

namespace lorat_gst {

struct ModelKey {
  std::string model, adapter, device, precision;
  bool operator<(const ModelKey& o) const;
};

// Loads (or finds already loaded) a model ready for inference. Throws lorat::Error.
lorat::LoratModel shared_model(const ModelKey& key);

// Number of models alive in the cache (for tests: zero once every element is back in NULL).
int live_shared_models();

}  // namespace lorat_gst
