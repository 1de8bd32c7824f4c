// The SiamFC crop of the spec, pixel-aligned as the LoRAT authors' evaluation does it.
// Pure arithmetic on an ImageView; no tensors.
#pragma once
#include <array>

#include "box.h"
#include "image.h"

namespace lorat {

// crop = s * frame + t, per axis.
struct Transform {
  double sx = 1, sy = 1, tx = 0, ty = 0;
  Box to_crop(const Box& frame_box) const;
  Box to_frame(const Box& crop_box) const;
};

// Integer rectangle [x1, x2) x [y1, y2).
struct Rect {
  int x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  int width() const { return x2 - x1; }
  int height() const { return y2 - y1; }
  bool empty() const { return x2 <= x1 || y2 <= y1; }
};

struct CropPlan {
  int size = 0;            // output S x S
  Transform ideal;         // s, t of step 1
  Rect crop_rect;          // where the frame lands in the crop (step 2)
  Rect frame_rect;         // the frame pixels that are resized onto crop_rect (step 3)
  Transform effective;     // s', t' of step 5: what maps boxes between crop and frame
};

// Steps 1-3 and 5 of the spec. Throws lorat::Error for an empty box or an empty frame.
CropPlan plan_crop(const Box& box, double context_factor, int size, int frame_width, int frame_height);

// Step 4 and 6: fills `out` (3 x S x S floats, planar RGB, ImageNet-normalised) from the frame:
// fill colour everywhere, then the bilinear resize (align_corners false, no antialias) of
// frame_rect onto crop_rect. fill is RGB 0..255. Reads only the pixels of frame_rect.
void render_crop(const ImageView& image, const CropPlan& plan, const double fill_rgb[3], float* out);

// Same as render_crop but without the normalisation (0..255 RGB, planar): for tests and overlays.
void render_crop_raw(const ImageView& image, const CropPlan& plan, const double fill_rgb[3], float* out);

// The search box for the next frame: w and h raised to at least min_size about the same centre.
Box enforce_min_size(const Box& box, double min_size);

// Clip a box to the frame (0, 0, W, H).
Box clip_box(const Box& box, int frame_width, int frame_height);

// Template foreground mask of the spec: the box (frame pixels) mapped with the template's effective
// transform, divided by the stride, cells floor(x1) .. floor(x2 + 1 - 1e-4) (end exclusive),
// clipped to the grid. Writes grid*grid values (row-major, 1 = foreground).
void foreground_mask(const Box& box, const Transform& effective, int crop_size, int grid, int64_t* mask);

}  // namespace lorat
