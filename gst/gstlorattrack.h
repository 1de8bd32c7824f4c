// lorattrack: tracks objects with LoRAT and attaches the boxes to each buffer as metadata.
#pragma once
#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_LORAT_TRACK (gst_lorat_track_get_type())
G_DECLARE_FINAL_TYPE(GstLoratTrack, gst_lorat_track, GST, LORAT_TRACK, GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE(lorattrack);

G_END_DECLS
