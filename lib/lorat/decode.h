// The post-processing of the spec: sigmoid, Hann-window blend, argmax, box at that cell.
#pragma once
#include <vector>

#include "box.h"

namespace lorat {

// Outer product of two symmetric Hann windows (torch.hann_window(n, periodic=False)), row-major.
std::vector<float> hann_window_2d(int rows, int cols);

struct Decoded {
  int index = 0;         // row-major cell of the maximum of the blended map (first maximum)
  float score = 0;       // sigmoid of the score logit there (not the blended value)
  float margin = 0;      // best minus second-best blended value
  Box crop_box;          // the box at that cell, in crop pixels
};

// score_logits: rows*cols logits; boxes: rows*cols*4 corners (x1, y1, x2, y2) in crop units
// (0..1 = the whole crop); window from hann_window_2d; crop_size scales the box to pixels.
Decoded decode_score_map(const float* score_logits, const float* boxes, int rows, int cols,
                         const std::vector<float>& window, float window_penalty, int crop_size);

}  // namespace lorat
