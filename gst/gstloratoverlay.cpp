/**
 * SECTION:element-loratoverlay
 * @title: loratoverlay
 *
 * Draws every GstVideoRegionOfInterestMeta of a buffer onto the frame, in the frame's own format
 * (no conversion): the box, and for lorattrack's boxes the track id and score. Lost tracks are
 * drawn grey and dashed. GStreamer 1.22 has no stock element that draws ROI metadata.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=bag.avi ! decodebin ! videoconvert ! \
 *   lorattrack model=model.safetensors init-box="291,124,150,140" ! loratoverlay ! videoconvert ! autovideosink
 * ]|
 */
#include "gstloratoverlay.h"

#include <gst/video/gstvideometa.h>
#include <gst/video/video.h>

#include <cstdio>

#include "draw.h"

GST_DEBUG_CATEGORY_STATIC(lorat_overlay_debug);
#define GST_CAT_DEFAULT lorat_overlay_debug

enum { PROP_0, PROP_THICKNESS, PROP_SHOW_SCORE };

struct _GstLoratOverlay {
  GstVideoFilter parent;
  gint thickness;
  gboolean show_score;
};

G_DEFINE_TYPE(GstLoratOverlay, gst_lorat_overlay, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(loratoverlay, "loratoverlay", GST_RANK_NONE, GST_TYPE_LORAT_OVERLAY);

#define VIDEO_FORMATS "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, I420, NV12, GRAY8 }"

// A colour per track id, easy to tell apart.
static lorat_gst::Rgb track_colour(guint id) {
  static const lorat_gst::Rgb palette[] = {{230, 25, 75}, {60, 180, 75}, {255, 225, 25}, {0, 130, 200}, {245, 130, 48},
                                           {145, 30, 180}, {70, 240, 240}, {240, 50, 230}, {210, 245, 60}, {250, 190, 190}};
  return palette[id % (sizeof palette / sizeof palette[0])];
}

static GstFlowReturn gst_lorat_overlay_transform_frame_ip(GstVideoFilter* filter, GstVideoFrame* frame) {
  GstLoratOverlay* self = GST_LORAT_OVERLAY(filter);
  GST_OBJECT_LOCK(self);
  int thickness = self->thickness;
  bool show_score = self->show_score;
  GST_OBJECT_UNLOCK(self);
  lorat_gst::Painter paint(frame);
  const int scale = std::max(1, GST_VIDEO_FRAME_HEIGHT(frame) / 240);
  gpointer iter = nullptr;
  GstMeta* meta;
  while ((meta = gst_buffer_iterate_meta_filtered(frame->buffer, &iter, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    auto* roi = reinterpret_cast<GstVideoRegionOfInterestMeta*>(meta);
    GstStructure* s = gst_video_region_of_interest_meta_get_param(roi, "lorat");
    gboolean lost = FALSE;
    guint id = guint(roi->id);
    double score = -1;
    if (s) {
      gst_structure_get_boolean(s, "lost", &lost);
      gst_structure_get_uint(s, "track-id", &id);
      gst_structure_get_double(s, "score", &score);
    }
    lorat_gst::Rgb colour = lost ? lorat_gst::Rgb{150, 150, 150} : track_colour(id);
    paint.rectangle(int(roi->x), int(roi->y), int(roi->w), int(roi->h), colour, thickness, lost);
    char label[32];
    if (s && show_score)
      std::snprintf(label, sizeof label, "%u:%.2f", id, score);
    else
      std::snprintf(label, sizeof label, "%u", id);
    int ty = int(roi->y) - 7 * scale - 1;
    if (ty < 0) ty = int(roi->y) + thickness + 1;
    paint.fill(int(roi->x), ty - scale, lorat_gst::Painter::text_width(label, scale) + scale, 7 * scale, colour);
    paint.text(int(roi->x) + scale, ty, label, lorat_gst::Rgb{0, 0, 0}, scale);
  }
  return GST_FLOW_OK;
}

static void gst_lorat_overlay_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  GstLoratOverlay* self = GST_LORAT_OVERLAY(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_THICKNESS: self->thickness = g_value_get_int(value); break;
    case PROP_SHOW_SCORE: self->show_score = g_value_get_boolean(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_lorat_overlay_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  GstLoratOverlay* self = GST_LORAT_OVERLAY(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_THICKNESS: g_value_set_int(value, self->thickness); break;
    case PROP_SHOW_SCORE: g_value_set_boolean(value, self->show_score); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_lorat_overlay_class_init(GstLoratOverlayClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->set_property = gst_lorat_overlay_set_property;
  gobject_class->get_property = gst_lorat_overlay_get_property;
  const auto flags = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property(gobject_class, PROP_THICKNESS,
                                  g_param_spec_int("thickness", "Thickness", "Line width of the boxes in pixels", 1, 32, 2, flags));
  g_object_class_install_property(gobject_class, PROP_SHOW_SCORE,
                                  g_param_spec_boolean("show-score", "Show score", "Write the score next to the track id", TRUE, flags));
  GstCaps* caps = gst_caps_from_string(GST_VIDEO_CAPS_MAKE(VIDEO_FORMATS));
  gst_element_class_add_pad_template(element_class, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
  gst_element_class_add_pad_template(element_class, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref(caps);
  gst_element_class_set_static_metadata(element_class, "LoRAT overlay", "Filter/Editor/Video",
                                        "Draws region-of-interest metadata (boxes, track ids, scores) onto the video",
                                        "gst-lorat developers");
  GST_VIDEO_FILTER_CLASS(klass)->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_lorat_overlay_transform_frame_ip);
  GST_DEBUG_CATEGORY_INIT(lorat_overlay_debug, "loratoverlay", 0, "LoRAT overlay");
}

static void gst_lorat_overlay_init(GstLoratOverlay* self) {
  self->thickness = 2;
  self->show_score = TRUE;
}
