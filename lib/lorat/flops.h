// Arithmetic cost of one forward pass, counted from the config (matrix products and the patch
// convolution; elementwise work is left out, as GMAC figures in papers do).
#pragma once
#include "config.h"

namespace lorat {

// Floating-point operations (2 per multiply-add) of one forward for one target.
double forward_flops(const ModelConfig& c);
// The extra operations of unmerged LoRA adapters of rank r on every block Linear.
double unmerged_lora_flops(const ModelConfig& c, int rank);

}  // namespace lorat
