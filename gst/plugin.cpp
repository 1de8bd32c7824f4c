// The gst-lorat plugin: lorattrack (tracks, attaches metadata) and loratoverlay (draws it).
#include <gst/gst.h>

#include "gstloratoverlay.h"
#include "gstlorattrack.h"

static gboolean plugin_init(GstPlugin* plugin) {
  gboolean ok = GST_ELEMENT_REGISTER(lorattrack, plugin);
  ok |= GST_ELEMENT_REGISTER(loratoverlay, plugin);
  return ok;
}

#define PACKAGE "gst-lorat"
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, lorat, "LoRAT visual object tracking", plugin_init, "0.1.0", "LGPL",
                  "gst-lorat", "https://github.com/gst-lorat/gst-lorat")
