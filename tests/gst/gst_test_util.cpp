#include "gst_test_util.h"

#include <gst/video/video.h>

#include <cstring>

#include "lorat/checkpoint.h"
#include "lorat/config.h"
#include "test_util.h"

namespace lorat_gst_test {

std::string tiny_model_path() {
  static std::string path;
  if (path.empty()) {
    gst_init(nullptr, nullptr);
    torch::manual_seed(4);
    lorat::LoratModel m(lorat::find_variant("T-112"));
    path = lorat_test::temp_dir() + "/tiny.safetensors";
    lorat::save_bundle(path, *m, lorat::DType::F32);
  }
  return path;
}

std::vector<uint8_t> scene_rgb(int w, int h, int sx, int sy) {
  std::vector<uint8_t> rgb(size_t(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &rgb[(size_t(y) * w + x) * 3];
      bool in = x >= sx && x < sx + 20 && y >= sy && y < sy + 16;
      p[0] = in ? 250 : uint8_t((x * 3 + y) % 90);
      p[1] = in ? 40 : uint8_t((y * 5) % 90);
      p[2] = in ? 40 : uint8_t((x + y) % 90);
    }
  return rgb;
}

GstBuffer* scene_buffer(const std::string& format, int w, int h, int sx, int sy) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, gst_video_format_from_string(format.c_str()), w, h);
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
  GstVideoFrame frame;
  gst_video_frame_map(&frame, &info, buf, GST_MAP_WRITE);
  auto rgb = scene_rgb(w, h, sx, sy);
  // Let videoconvert-free code write every format: convert RGB through GstVideoConverter.
  GstVideoInfo rgb_info;
  gst_video_info_set_format(&rgb_info, GST_VIDEO_FORMAT_RGB, w, h);
  GstBuffer* src = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&rgb_info), nullptr);
  GstVideoFrame src_frame;
  gst_video_frame_map(&src_frame, &rgb_info, src, GST_MAP_WRITE);
  for (int y = 0; y < h; ++y)
    std::memcpy(static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&src_frame, 0)) + y * GST_VIDEO_FRAME_PLANE_STRIDE(&src_frame, 0),
                &rgb[size_t(y) * w * 3], size_t(w) * 3);
  GstVideoConverter* conv = gst_video_converter_new(&rgb_info, &info, nullptr);
  gst_video_converter_frame(conv, &src_frame, &frame);
  gst_video_converter_free(conv);
  gst_video_frame_unmap(&src_frame);
  gst_buffer_unref(src);
  gst_video_frame_unmap(&frame);
  return buf;
}

std::string caps_for(const std::string& format, int w, int h) {
  return "video/x-raw,format=" + format + ",width=" + std::to_string(w) + ",height=" + std::to_string(h) + ",framerate=25/1";
}

}  // namespace lorat_gst_test
