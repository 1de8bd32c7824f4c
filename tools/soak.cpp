// lorat-soak: a long run of lorattrack (a script, not part of CI). videotestsrc (the moving ball)
// feeds `lorattrack` for N frames while targets are added and removed with the action signals
// (1..4 alive); every window of frames it prints the resident memory of the process and the time
// lorattrack took per frame (between a probe on its sink pad and one on its src pad). At the end
// it compares the last window with the second (the first is warm-up) and exits non-zero when the
// memory or the latency grew:
//   RSS(last) > 1.10 * RSS(second) + 20 MB, or mean latency(last) > 1.5 * mean latency(second).
//
//   build/tools/lorat new --variant T-112 --output /tmp/t.safetensors
//   build/tools/lorat-soak /tmp/t.safetensors [--frames 20000] [--every 250] [--window 1000]
//
// The target schedule repeats every 4 * every frames (1, 2, 3, 4 targets alive, each step adding
// a new target and removing the oldest ones): with the defaults a window holds exactly one cycle,
// so every window does the same amount of work. The plugin is taken from GST_PLUGIN_PATH, or else
// from this build tree.
#include <gst/gst.h>
#include <gst/video/gstvideometa.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <string>
#include <vector>

#ifndef LORAT_BUILD_PLUGIN_DIR
#define LORAT_BUILD_PLUGIN_DIR ""
#endif

namespace {

using Clock = std::chrono::steady_clock;

// Resident set size of this process in kB (VmRSS of /proc/self/status), 0 when unknown.
long rss_kb(const char* field = "VmRSS:") {
  std::ifstream in("/proc/self/status");
  std::string line;
  size_t n = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, n, field) == 0) return std::atol(line.c_str() + n);
  return 0;
}

struct Window {
  int index = 0;
  long frames = 0;
  long rss_kb = 0;
  double mean_ms = 0, max_ms = 0, p99_ms = 0;
  double targets = 0;   // mean number of boxes per frame
  double wall_s = 0;    // wall time of the window
};

struct Soak {
  GstElement* track = nullptr;
  int every = 250, window = 1000, width = 320, height = 240;
  long frames = 0;           // frames out of lorattrack so far
  long adds = 0, removes = 0, failed_removes = 0;
  Clock::time_point in_time;
  bool in_valid = false;
  std::vector<double> lat_ms;   // of the current window
  long boxes = 0;               // ROI metas seen in the current window
  Clock::time_point window_start;
  std::deque<int> alive;        // track ids, oldest first
  std::vector<Window> windows;
};

GstPadProbeReturn on_sink(GstPad*, GstPadProbeInfo*, gpointer data) {
  auto* s = static_cast<Soak*>(data);
  s->in_time = Clock::now();
  s->in_valid = true;
  return GST_PAD_PROBE_OK;
}

int count_rois(GstBuffer* buf) {
  int n = 0;
  gpointer iter = nullptr;
  while (gst_buffer_iterate_meta_filtered(buf, &iter, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) ++n;
  return n;
}

// Add a new target and remove the oldest ones so that `want` are alive (1, 2, 3, 4, 1, 2, ...).
void change_targets(Soak* s, long event) {
  int want = int(event % 4) + 1;
  double w = 40 + double((event * 13) % 41), h = 40 + double((event * 29) % 41);
  double x = double((event * 37) % (s->width - 90)) + 5, y = double((event * 53) % (s->height - 90)) + 5;
  gint id = -1;
  g_signal_emit_by_name(s->track, "add-target", x, y, w, h, &id);
  if (id > 0) {
    s->alive.push_back(id);
    ++s->adds;
  }
  while (int(s->alive.size()) > want) {
    gboolean ok = FALSE;
    g_signal_emit_by_name(s->track, "remove-target", guint(s->alive.front()), &ok);
    s->alive.pop_front();
    ++s->removes;
    if (!ok) ++s->failed_removes;
  }
}

void close_window(Soak* s) {
  Window w;
  w.index = int(s->windows.size());
  w.frames = long(s->lat_ms.size());
  w.rss_kb = rss_kb();
  std::vector<double> sorted = s->lat_ms;
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;
  for (double v : sorted) sum += v;
  if (!sorted.empty()) {
    w.mean_ms = sum / double(sorted.size());
    w.max_ms = sorted.back();
    w.p99_ms = sorted[std::min(sorted.size() - 1, size_t(0.99 * double(sorted.size())))];
    w.targets = double(s->boxes) / double(sorted.size());
  }
  auto now = Clock::now();
  w.wall_s = std::chrono::duration<double>(now - s->window_start).count();
  s->window_start = now;
  s->windows.push_back(w);
  std::printf("%6d %8ld %9.1f %9.3f %9.3f %9.3f %7.2f %7.1f\n", w.index, s->frames, double(w.rss_kb) / 1024.0, w.mean_ms, w.p99_ms,
              w.max_ms, w.targets, double(w.frames) / std::max(w.wall_s, 1e-9));
  std::fflush(stdout);
  s->lat_ms.clear();
  s->boxes = 0;
}

GstPadProbeReturn on_src(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* s = static_cast<Soak*>(data);
  if (!s->in_valid) return GST_PAD_PROBE_OK;
  s->in_valid = false;
  s->lat_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s->in_time).count());
  s->boxes += count_rois(GST_PAD_PROBE_INFO_BUFFER(info));
  ++s->frames;
  // Signals are emitted here, on the streaming thread, between two frames; they take effect on
  // the next frame.
  if (s->frames % s->every == 0 || s->frames == 1) change_targets(s, s->frames / s->every);
  if (s->frames % s->window == 0) close_window(s);
  return GST_PAD_PROBE_OK;
}

int usage() {
  std::fprintf(stderr,
               "usage: lorat-soak MODEL.safetensors [--frames 20000] [--every 250] [--window 1000] [--threads 0] [--device cpu|cuda|auto]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  std::string model, device = "auto";
  long n = 20000;
  int threads = 0;
  Soak s;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--frames" && has_value) n = std::atol(argv[++i]);
    else if (a == "--every" && has_value) s.every = std::atoi(argv[++i]);
    else if (a == "--window" && has_value) s.window = std::atoi(argv[++i]);
    else if (a == "--threads" && has_value) threads = std::atoi(argv[++i]);
    else if (a == "--device" && has_value) device = argv[++i];
    else if (a.rfind("--", 0) == 0) return usage();
    else model = a;
  }
  if (model.empty() || n <= 0 || s.every <= 0 || s.window <= 0) return usage();
  if (n < 3L * s.window) {
    std::fprintf(stderr, "lorat-soak: --frames must be at least 3 windows (warm-up, reference, last)\n");
    return 2;
  }

  if (!gst_registry_check_feature_version(gst_registry_get(), "lorattrack", 1, 0, 0) && LORAT_BUILD_PLUGIN_DIR[0])
    gst_registry_scan_path(gst_registry_get(), LORAT_BUILD_PLUGIN_DIR);
  GstElementFactory* factory = gst_element_factory_find("lorattrack");
  if (!factory) {
    std::fprintf(stderr, "lorat-soak: no lorattrack element (set GST_PLUGIN_PATH to the folder of libgstlorat.so)\n");
    return 1;
  }
  gst_object_unref(factory);

  std::string desc = "videotestsrc pattern=ball num-buffers=" + std::to_string(n) + " ! video/x-raw,width=" + std::to_string(s.width) +
                     ",height=" + std::to_string(s.height) + ",framerate=30/1 ! lorattrack name=track model=\"" + model +
                     "\" device=" + device + " threads=" + std::to_string(threads) + " ! fakesink sync=false";
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(desc.c_str(), &err);
  if (!pipeline || err) {
    std::fprintf(stderr, "lorat-soak: %s\n", err ? err->message : "cannot build the pipeline");
    return 1;
  }
  s.track = gst_bin_get_by_name(GST_BIN(pipeline), "track");
  GstPad* sink = gst_element_get_static_pad(s.track, "sink");
  GstPad* src = gst_element_get_static_pad(s.track, "src");
  gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER, on_sink, &s, nullptr);
  gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, on_src, &s, nullptr);

  std::printf("lorat-soak: %ld frames %dx%d, model %s, a target added (oldest removed, 1..4 alive) every %d frames\n", n, s.width, s.height,
              model.c_str(), s.every);
  std::printf("RSS before the pipeline starts: %.1f MB\n", double(rss_kb()) / 1024.0);
  std::printf("%6s %8s %9s %9s %9s %9s %7s %7s\n", "window", "frames", "RSS_MB", "mean_ms", "p99_ms", "max_ms", "targets", "fps");
  auto t0 = Clock::now();
  s.window_start = t0;
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* msg = gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  int rc = 0;
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError* e = nullptr;
    gchar* dbg = nullptr;
    gst_message_parse_error(msg, &e, &dbg);
    std::fprintf(stderr, "lorat-soak: pipeline error from %s: %s (%s)\n", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), e->message, dbg ? dbg : "");
    g_error_free(e);
    g_free(dbg);
    rc = 1;
  }
  gst_message_unref(msg);
  gst_object_unref(bus);
  double total_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!s.lat_ms.empty()) close_window(&s);  // a partial last window
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(src);
  gst_object_unref(s.track);
  gst_object_unref(pipeline);
  if (rc) return rc;

  std::printf("%ld frames in %.1f s; %ld targets added, %ld removed (%ld removals refused); peak RSS %.1f MB; RSS after NULL %.1f MB\n", s.frames,
              total_s, s.adds, s.removes, s.failed_removes, double(rss_kb("VmHWM:")) / 1024.0, double(rss_kb()) / 1024.0);
  // Only whole windows are compared.
  std::vector<Window> whole;
  for (const auto& w : s.windows)
    if (w.frames == s.window) whole.push_back(w);
  if (s.frames != n || whole.size() < 3) {
    std::fprintf(stderr, "lorat-soak: %ld of %ld frames came out\n", s.frames, n);
    return 1;
  }
  const Window &first = whole.front(), &second = whole[1], &last = whole.back();
  auto mb = [](long kb) { return double(kb) / 1024.0; };
  std::printf("%-28s %10s %10s %10s %12s %12s\n", "", "first", "second", "last", "last/first", "last/second");
  std::printf("%-28s %10.1f %10.1f %10.1f %12.3f %12.3f\n", "RSS (MB)", mb(first.rss_kb), mb(second.rss_kb), mb(last.rss_kb),
              double(last.rss_kb) / double(first.rss_kb), double(last.rss_kb) / double(second.rss_kb));
  std::printf("%-28s %10.3f %10.3f %10.3f %12.3f %12.3f\n", "mean latency (ms/frame)", first.mean_ms, second.mean_ms, last.mean_ms,
              last.mean_ms / first.mean_ms, last.mean_ms / second.mean_ms);
  bool rss_grew = double(last.rss_kb) > 1.10 * double(second.rss_kb) + 20.0 * 1024.0;
  bool latency_grew = last.mean_ms > 1.5 * second.mean_ms;
  if (rss_grew) std::printf("FAIL: RSS grew by more than 10%% + 20 MB from the second window to the last\n");
  if (latency_grew) std::printf("FAIL: mean latency grew by more than 50%% from the second window to the last\n");
  if (s.failed_removes) std::printf("FAIL: %ld remove-target calls refused a live track\n", s.failed_removes);
  bool ok = !rss_grew && !latency_grew && s.failed_removes == 0;
  if (ok) std::printf("OK: memory flat, latency flat\n");
  return ok ? 0 : 1;
}
