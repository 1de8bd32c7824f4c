// lorat-rtsp-serve: serves a clip in a loop over RTSP (H.264), so the RTSP pipelines can be tried
// without a camera. The clip is decoded once into JPEG frames that multifilesrc then loops.
#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace fs = std::filesystem;

// SIGINT/SIGTERM end the main loop from the loop itself (g_unix_signal_add), not from a handler.
static gboolean on_signal(gpointer loop) {
  g_main_loop_quit(static_cast<GMainLoop*>(loop));
  return G_SOURCE_REMOVE;
}

// Decodes `clip` into dir/%05d.jpg; returns the number of frames (0 on failure, with a message).
static int extract_frames(const std::string& clip, const std::string& dir) {
  std::string desc = "filesrc location=\"" + clip + "\" ! decodebin ! videoconvert ! jpegenc quality=92 ! multifilesink location=\"" + dir + "/%05d.jpg\"";
  GError* err = nullptr;
  GstElement* p = gst_parse_launch(desc.c_str(), &err);
  if (!p) {
    std::fprintf(stderr, "lorat-rtsp-serve: %s\n", err ? err->message : "cannot build the decoding pipeline");
    return 0;
  }
  gst_element_set_state(p, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(p);
  GstMessage* msg = gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  bool ok = msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS;
  if (!ok && msg) {
    GError* e = nullptr;
    gst_message_parse_error(msg, &e, nullptr);
    std::fprintf(stderr, "lorat-rtsp-serve: %s: %s\n", clip.c_str(), e->message);
    g_error_free(e);
  }
  if (msg) gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) n += entry.path().extension() == ".jpg";
  return ok ? n : 0;
}

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  std::string clip, port = "8554", mount = "/clip", fps = "25";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--port" || a == "--mount" || a == "--fps") && i + 1 < argc) {
      (a == "--port" ? port : a == "--mount" ? mount : fps) = argv[++i];
    } else if (a.rfind("--", 0) == 0) {
      std::fprintf(stderr, "usage: lorat-rtsp-serve CLIP [--port 8554] [--mount /clip] [--fps 25]\n");
      return 2;
    } else {
      clip = a;
    }
  }
  if (clip.empty() || !fs::is_regular_file(clip)) {
    std::fprintf(stderr, "lorat-rtsp-serve: %s\n", clip.empty() ? "no clip given (usage: lorat-rtsp-serve CLIP [--port N])" : (clip + ": no such file").c_str());
    return 2;
  }
  std::string tmpl = std::string(g_get_tmp_dir()) + "/lorat-rtsp-XXXXXX";  // honours TMPDIR
  if (!mkdtemp(tmpl.data())) {
    std::perror("lorat-rtsp-serve: mkdtemp");
    return 1;
  }
  std::string dir = tmpl;
  int frames = extract_frames(fs::absolute(clip).string(), dir);
  if (frames == 0) {
    fs::remove_all(dir);
    return 1;
  }
  GstRTSPServer* server = gst_rtsp_server_new();
  gst_rtsp_server_set_service(server, port.c_str());
  GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
  std::string launch = "( multifilesrc location=\"" + dir + "/%05d.jpg\" loop=true caps=image/jpeg,framerate=" + fps +
                       "/1 ! jpegdec ! videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=" + fps +
                       " ! rtph264pay name=pay0 pt=96 config-interval=1 )";
  gst_rtsp_media_factory_set_launch(factory, launch.c_str());
  gst_rtsp_media_factory_set_shared(factory, TRUE);
  GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server);
  gst_rtsp_mount_points_add_factory(mounts, mount.c_str(), factory);
  g_object_unref(mounts);
  if (gst_rtsp_server_attach(server, nullptr) == 0) {
    std::fprintf(stderr, "lorat-rtsp-serve: cannot listen on port %s (in use?)\n", port.c_str());
    fs::remove_all(dir);
    return 1;
  }
  std::printf("serving %s (%d frames, looped) at rtsp://127.0.0.1:%s%s (frames in %s)\n", clip.c_str(), frames, port.c_str(), mount.c_str(),
              dir.c_str());
  std::fflush(stdout);
  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  g_unix_signal_add(SIGINT, on_signal, loop);
  g_unix_signal_add(SIGTERM, on_signal, loop);
  g_main_loop_run(loop);
  g_main_loop_unref(loop);
  g_object_unref(server);
  fs::remove_all(dir);
  return 0;
}
