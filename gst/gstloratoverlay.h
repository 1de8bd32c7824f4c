// loratoverlay: draws the region-of-interest metas of each buffer onto the frame.
#pragma once
#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_LORAT_OVERLAY (gst_lorat_overlay_get_type())
G_DECLARE_FINAL_TYPE(GstLoratOverlay, gst_lorat_overlay, GST, LORAT_OVERLAY, GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE(loratoverlay);

G_END_DECLS
