// Shared by the element tests: GStreamer set-up, a small random model, synthetic frames.
#pragma once
#include <gst/gst.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lorat_gst_test {

// gst_init once, and the path of a T-112 bundle with random weights made for this process.
std::string tiny_model_path();

// A w x h RGB picture: textured background with a bright 20x16 square at (sx, sy).
std::vector<uint8_t> scene_rgb(int w, int h, int sx, int sy);

// The same picture as a buffer in `format` (a GStreamer format name), with the stride and plane
// layout of gst_video_info_set_format.
GstBuffer* scene_buffer(const std::string& format, int w, int h, int sx, int sy);

// Caps string for raw video in that format and size at 25 fps.
std::string caps_for(const std::string& format, int w, int h);

}  // namespace lorat_gst_test
