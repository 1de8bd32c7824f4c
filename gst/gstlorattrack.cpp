/**
 * SECTION:element-lorattrack
 * @title: lorattrack
 *
 * Tracks one or more objects with the LoRAT tracker (a one-stream ViT with merged LoRA adapters)
 * and attaches, to every buffer, a GstVideoRegionOfInterestMeta per target (meta id = track id,
 * roi type = the label property) with a "lorat" parameter structure holding track-id, score and
 * lost. With post-messages, each box is also posted on the bus as a "lorat-box" element message.
 * Only the pixels of the template and search crops are read from the frame; it is never
 * converted as a whole.
 *
 * Targets start from init-box on the first frame, from the add-target action signal, from a
 * custom "lorat-add-target" event (upstream or downstream, fields x, y, w, h as doubles), or, with
 * auto-init, from region-of-interest metas an upstream detector attached.
 *
 * Without the model property, the shipped default model is used: the first
 * starter/starter.safetensors found in $LORAT_MODELS_DIR, the source tree's models/ (when run
 * from the build tree) or the installed models folder; the element fails to start, naming those
 * paths, when none holds it.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m filesrc location=bag.avi ! decodebin ! videoconvert ! \
 *   lorattrack model=model.safetensors init-box="291,124,150,140" post-messages=true ! \
 *   loratoverlay ! videoconvert ! autovideosink
 * ]|
 */
#include "gstlorattrack.h"

#include <ATen/Parallel.h>
#include <gst/video/gstvideometa.h>
#include <gst/video/video.h>
#include <torch/cuda.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "lorat/config.h"
#include "lorat/error.h"
#include "lorat/precision.h"
#include "lorat/sequence.h"
#include "lorat/tracker.h"
#include "lorat_paths.h"
#include "model_cache.h"

GST_DEBUG_CATEGORY_STATIC(lorat_track_debug);
#define GST_CAT_DEFAULT lorat_track_debug

enum LoratDevice { DEVICE_AUTO, DEVICE_CPU, DEVICE_CUDA };
enum LoratPrecision { PRECISION_AUTO, PRECISION_FP32, PRECISION_BF16, PRECISION_FP16 };
enum LoratMode { MODE_EVERY_FRAME, MODE_LATEST };

enum {
  PROP_0,
  PROP_MODEL,
  PROP_ADAPTER,
  PROP_DEVICE,
  PROP_PRECISION,
  PROP_THREADS,
  PROP_INIT_BOX,
  PROP_SCORE_THRESHOLD,
  PROP_POST_MESSAGES,
  PROP_LABEL,
  PROP_AUTO_INIT,
  PROP_MODE,
  PROP_SIZE_UPDATE_RATE,
};

enum { SIGNAL_ADD_TARGET, SIGNAL_REMOVE_TARGET, LAST_SIGNAL };
static guint signals[LAST_SIGNAL];

constexpr double kDefaultScoreThreshold = 0.25;

namespace {

struct PendingTarget {
  int id;
  lorat::Box box;
};

// Everything C++ the element owns; guarded by `lock` (properties, signals and events arrive on
// other threads than the streaming one).
struct State {
  std::mutex lock;
  std::unique_ptr<lorat::Tracker> tracker;
  lorat::LoratModel model{nullptr};
  std::vector<PendingTarget> pending_add;
  std::vector<int> pending_remove;
  bool init_box_applied = false;
  int next_id = 1;
  int width = 0, height = 0;
  lorat::LoratModel next_model{nullptr};  // an adapter swap, ready to go in between two frames
  std::thread swap_thread;
  std::vector<lorat::Box> last_boxes;     // of every target, for auto-init's "already tracked" test
  double processing_ns = 0;               // running mean time per frame (the latency we add)

  // mode=latest: the streaming thread leaves a copy of the newest frame in `job` and moves on;
  // the worker tracks it. Guarded by slot_lock (never held while the model runs).
  std::mutex slot_lock;
  std::condition_variable slot_cv;
  struct Job {
    std::vector<uint8_t> pixels;
    lorat::ImageView view;
    std::vector<lorat::Box> detections;
  } job;
  bool job_ready = false, worker_stop = false, worker_failed = false;
  std::vector<lorat::TrackResult> latest;
  std::thread worker;
};

}  // namespace

struct _GstLoratTrack {
  GstVideoFilter parent;
  gchar* model_path;
  gchar* adapter;
  gint device;
  gint precision;
  gint threads;
  gchar* init_box;
  gdouble score_threshold;
  gboolean post_messages;
  gchar* label;
  gboolean auto_init;
  gint mode;
  gdouble size_update_rate;
  State* state;
};

G_DEFINE_TYPE(GstLoratTrack, gst_lorat_track, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(lorattrack, "lorattrack", GST_RANK_NONE, GST_TYPE_LORAT_TRACK);

#define VIDEO_FORMATS "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, I420, NV12, GRAY8 }"

static GType device_get_type() {
  static GType type = 0;
  static const GEnumValue values[] = {{DEVICE_AUTO, "CUDA when a GPU is there, else CPU", "auto"},
                                      {DEVICE_CPU, "CPU", "cpu"},
                                      {DEVICE_CUDA, "CUDA GPU", "cuda"},
                                      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstLoratDevice", values));
  return type;
}

static GType precision_get_type() {
  static GType type = 0;
  static const GEnumValue values[] = {{PRECISION_AUTO, "the fastest accurate one for the device (CUDA: fp16; CPU: bf16 where it has AVX512-BF16 or AMX and bf16 products measure faster, else fp32)", "auto"},
                                      {PRECISION_FP32, "float32", "fp32"},
                                      {PRECISION_BF16, "bfloat16", "bf16"},
                                      {PRECISION_FP16, "float16 (CUDA only)", "fp16"},
                                      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstLoratPrecision", values));
  return type;
}

static GType mode_get_type() {
  static GType type = 0;
  static const GEnumValue values[] = {
      {MODE_EVERY_FRAME, "every frame waits for its own boxes", "every-frame"},
      {MODE_LATEST, "frames pass at once with the latest boxes (lorat param fresh=false) while the model works on the newest frame", "latest"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstLoratMode", values));
  return type;
}

// The device and precision the properties ask for, resolved ("auto") against this machine.
static void resolve_device(GstLoratTrack* self, std::string& device, std::string& precision) {
  bool cuda = self->device == DEVICE_CUDA || (self->device == DEVICE_AUTO && torch::cuda::is_available());
  device = cuda ? "cuda" : "cpu";
  switch (self->precision) {
    case PRECISION_FP32: precision = "fp32"; break;
    case PRECISION_BF16: precision = "bf16"; break;
    case PRECISION_FP16: precision = "fp16"; break;
    default: precision = lorat::auto_precision(cuda);
  }
}

static void start_model_swap(GstLoratTrack* self);

static void gst_lorat_track_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  GstLoratTrack* self = GST_LORAT_TRACK(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free(self->model_path);
      self->model_path = g_value_dup_string(value);
      break;
    case PROP_ADAPTER: {
      g_free(self->adapter);
      self->adapter = g_value_dup_string(value);
      GST_OBJECT_UNLOCK(self);
      bool running;
      {
        std::lock_guard<std::mutex> guard(self->state->lock);
        running = !self->state->model.is_empty();
      }
      if (running) start_model_swap(self);
      return;
    }
    case PROP_DEVICE: self->device = g_value_get_enum(value); break;
    case PROP_PRECISION: self->precision = g_value_get_enum(value); break;
    case PROP_THREADS: self->threads = g_value_get_int(value); break;
    case PROP_INIT_BOX:
      g_free(self->init_box);
      self->init_box = g_value_dup_string(value);
      break;
    case PROP_SCORE_THRESHOLD: self->score_threshold = g_value_get_double(value); break;
    case PROP_POST_MESSAGES: self->post_messages = g_value_get_boolean(value); break;
    case PROP_LABEL:
      g_free(self->label);
      self->label = g_value_dup_string(value);
      break;
    case PROP_AUTO_INIT: self->auto_init = g_value_get_boolean(value); break;
    case PROP_MODE: self->mode = g_value_get_enum(value); break;
    case PROP_SIZE_UPDATE_RATE: self->size_update_rate = g_value_get_double(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_lorat_track_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  GstLoratTrack* self = GST_LORAT_TRACK(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL: g_value_set_string(value, self->model_path); break;
    case PROP_ADAPTER: g_value_set_string(value, self->adapter); break;
    case PROP_DEVICE: g_value_set_enum(value, self->device); break;
    case PROP_PRECISION: g_value_set_enum(value, self->precision); break;
    case PROP_THREADS: g_value_set_int(value, self->threads); break;
    case PROP_INIT_BOX: g_value_set_string(value, self->init_box); break;
    case PROP_SCORE_THRESHOLD: g_value_set_double(value, self->score_threshold); break;
    case PROP_POST_MESSAGES: g_value_set_boolean(value, self->post_messages); break;
    case PROP_LABEL: g_value_set_string(value, self->label); break;
    case PROP_AUTO_INIT: g_value_set_boolean(value, self->auto_init); break;
    case PROP_MODE: g_value_set_enum(value, self->mode); break;
    case PROP_SIZE_UPDATE_RATE: g_value_set_double(value, self->size_update_rate); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static lorat_gst::ModelKey model_key(GstLoratTrack* self) {
  lorat_gst::ModelKey key;
  GST_OBJECT_LOCK(self);
  key.model = self->model_path ? self->model_path : "";
  key.adapter = self->adapter ? self->adapter : "";
  GST_OBJECT_UNLOCK(self);
  if (key.model.empty()) key.model = lorat::default_model_path();  // "" when the shipped model is absent
  resolve_device(self, key.device, key.precision);
  return key;
}

// Loads the model with the new adapter off the streaming thread; the next frame swaps it in.
static void start_model_swap(GstLoratTrack* self) {
  State* st = self->state;
  lorat_gst::ModelKey key = model_key(self);
  // The previous swap must finish first; it takes st->lock itself, so wait for it unlocked.
  std::thread previous;
  {
    std::lock_guard<std::mutex> guard(st->lock);
    previous = std::move(st->swap_thread);
  }
  if (previous.joinable()) previous.join();
  gst_object_ref(self);
  std::thread worker([self, st, key] {
    auto t0 = std::chrono::steady_clock::now();
    try {
      lorat::LoratModel model = lorat_gst::shared_model(key);
      std::lock_guard<std::mutex> g(st->lock);
      st->next_model = model;
      GST_INFO_OBJECT(self, "adapter %s loaded and merged in %.0f ms", key.adapter.c_str(),
                      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    } catch (const std::exception& e) {
      GST_ELEMENT_WARNING(self, RESOURCE, OPEN_READ, ("Cannot switch to adapter %s: %s", key.adapter.c_str(), e.what()),
                          ("keeping the current model"));
    }
    gst_object_unref(self);
  });
  std::lock_guard<std::mutex> guard(st->lock);
  st->swap_thread = std::move(worker);
}

static gboolean load_model(GstBaseTransform* trans) {
  GstLoratTrack* self = GST_LORAT_TRACK(trans);
  State* st = self->state;
  lorat_gst::ModelKey key = model_key(self);
  if (key.model.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      ("No model: the model property is not set and the default model was not found (looked for %s); set model= to a "
                       "gst-lorat model bundle (.safetensors).",
                       lorat::default_model_searched().c_str()),
                      (nullptr));
    return FALSE;
  }
  GST_OBJECT_LOCK(self);
  bool is_default = !self->model_path || !*self->model_path;
  GST_OBJECT_UNLOCK(self);
  if (is_default) GST_INFO_OBJECT(self, "model not set: using the default model %s", key.model.c_str());
  if (key.device == "cuda" && !torch::cuda::is_available()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("device=cuda, but no CUDA device is available (or LibTorch has no CUDA)."), (nullptr));
    return FALSE;
  }
  if (key.precision == "fp16" && key.device != "cuda") {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("precision=fp16 needs device=cuda; on a CPU use fp32 or bf16."), (nullptr));
    return FALSE;
  }
  std::string init_box;
  GST_OBJECT_LOCK(self);
  init_box = self->init_box ? self->init_box : "";
  int threads = self->threads;
  const double size_update_rate = self->size_update_rate;
  GST_OBJECT_UNLOCK(self);
  try {
    lorat::parse_boxes(init_box);
  } catch (const lorat::Error& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Invalid init-box \"%s\": %s.", init_box.c_str(), e.what()), (nullptr));
    return FALSE;
  }
  if (threads > 0) at::set_num_threads(threads);
  try {
    lorat::LoratModel model = lorat_gst::shared_model(key);
    std::lock_guard<std::mutex> guard(st->lock);
    st->model = model;
    st->tracker = std::make_unique<lorat::Tracker>(model, lorat::TrackerOptions{model->token_type_embed.device(), size_update_rate});
    st->init_box_applied = false;
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("Cannot load the model: %s", e.what()), ("model=%s adapter=%s", key.model.c_str(), key.adapter.c_str()));
    return FALSE;
  }
  return TRUE;
}

// The model loads (and precision=auto times its matrix products) on a thread of its own that then
// exits: OpenMP keeps a team of worker threads for every thread that runs parallel LibTorch work,
// and with the loading thread's team idle beside the streaming thread's, libgomp counts more threads
// than cores and stops spinning between parallel regions. Each of the forward's many small regions
// then waits for a futex wake-up: measured 77 against 133 FPS for the model alone (starter, bf16,
// 2 cores). A team dies with its thread, so the streaming thread's is the only one left.
static gboolean gst_lorat_track_start(GstBaseTransform* trans) {
  gboolean ok = FALSE;
  std::thread loader([&] { ok = load_model(trans); });
  loader.join();
  return ok;
}

static void stop_worker(State* st) {
  {
    std::lock_guard<std::mutex> slot(st->slot_lock);
    st->worker_stop = true;
  }
  st->slot_cv.notify_all();
  if (st->worker.joinable()) st->worker.join();
  std::lock_guard<std::mutex> slot(st->slot_lock);
  st->worker_stop = st->job_ready = st->worker_failed = false;
  st->latest.clear();
}

static gboolean gst_lorat_track_stop(GstBaseTransform* trans) {
  State* st = GST_LORAT_TRACK(trans)->state;
  stop_worker(st);
  if (st->swap_thread.joinable()) st->swap_thread.join();
  std::lock_guard<std::mutex> guard(st->lock);
  st->tracker.reset();
  st->model = lorat::LoratModel(nullptr);
  st->next_model = lorat::LoratModel(nullptr);
  st->pending_add.clear();
  st->pending_remove.clear();
  st->last_boxes.clear();
  st->processing_ns = 0;
  st->next_id = 1;  // a restarted stream numbers its tracks from 1 again
  st->width = st->height = 0;
  return TRUE;
}

static gboolean gst_lorat_track_set_info(GstVideoFilter* filter, GstCaps*, GstVideoInfo* in_info, GstCaps*, GstVideoInfo*) {
  State* st = GST_LORAT_TRACK(filter)->state;
  std::lock_guard<std::mutex> guard(st->lock);
  int w = GST_VIDEO_INFO_WIDTH(in_info), h = GST_VIDEO_INFO_HEIGHT(in_info);
  // A resolution change mid-stream: tracks continue with their boxes scaled to the new size.
  if (st->tracker && st->width > 0 && (w != st->width || h != st->height)) {
    double sx = double(w) / st->width, sy = double(h) / st->height;
    st->tracker->rescale(sx, sy);
    for (auto& b : st->last_boxes) b = lorat::Box{b.x * sx, b.y * sy, b.w * sx, b.h * sy};
  }
  st->width = w;
  st->height = h;
  return TRUE;
}

static lorat::ImageView view_of(GstVideoFrame* frame) {
  lorat::ImageView v;
  v.format = lorat::pixel_format_from_name(gst_video_format_to_string(GST_VIDEO_FRAME_FORMAT(frame)));
  v.width = GST_VIDEO_FRAME_WIDTH(frame);
  v.height = GST_VIDEO_FRAME_HEIGHT(frame);
  for (guint i = 0; i < GST_VIDEO_FRAME_N_PLANES(frame) && i < 3; ++i) {
    v.planes[i] = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(frame, i));
    v.strides[i] = GST_VIDEO_FRAME_PLANE_STRIDE(frame, i);
  }
  return v;
}

// Boxes of the ROI metas an upstream detector attached (not ours), for auto-init.
static std::vector<lorat::Box> upstream_detections(GstBuffer* buf) {
  std::vector<lorat::Box> out;
  gpointer iter = nullptr;
  GstMeta* meta;
  while ((meta = gst_buffer_iterate_meta_filtered(buf, &iter, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    auto* roi = reinterpret_cast<GstVideoRegionOfInterestMeta*>(meta);
    if (gst_video_region_of_interest_meta_get_param(roi, "lorat")) continue;  // one of ours
    lorat::Box b{double(roi->x), double(roi->y), double(roi->w), double(roi->h)};
    if (b.valid()) out.push_back(b);
  }
  return out;
}

static void attach_result(GstLoratTrack* self, GstBuffer* buf, const lorat::TrackResult& r, const char* label, double threshold,
                          bool post, bool fresh, int width, int height) {
  bool lost = r.score < threshold;
  // ROI metas hold whole pixels: round outwards, keep inside the frame.
  int x1 = std::max(0, int(std::floor(r.box.x))), y1 = std::max(0, int(std::floor(r.box.y)));
  int x2 = std::min(width, int(std::ceil(r.box.x2()))), y2 = std::min(height, int(std::ceil(r.box.y2())));
  GstVideoRegionOfInterestMeta* roi =
      gst_buffer_add_video_region_of_interest_meta(buf, label, guint(x1), guint(y1), guint(std::max(0, x2 - x1)), guint(std::max(0, y2 - y1)));
  roi->id = r.id;
  gst_video_region_of_interest_meta_add_param(
      roi, gst_structure_new("lorat", "track-id", G_TYPE_UINT, guint(r.id), "score", G_TYPE_DOUBLE, double(r.score), "lost", G_TYPE_BOOLEAN,
                             gboolean(lost), "fresh", G_TYPE_BOOLEAN, gboolean(fresh), "x", G_TYPE_DOUBLE, r.box.x, "y", G_TYPE_DOUBLE,
                             r.box.y, "w", G_TYPE_DOUBLE, r.box.w, "h", G_TYPE_DOUBLE, r.box.h, nullptr));
  if (post) {
    GstStructure* s = gst_structure_new("lorat-box", "track-id", G_TYPE_UINT, guint(r.id), "x", G_TYPE_DOUBLE, r.box.x, "y", G_TYPE_DOUBLE,
                                        r.box.y, "w", G_TYPE_DOUBLE, r.box.w, "h", G_TYPE_DOUBLE, r.box.h, "score", G_TYPE_DOUBLE,
                                        double(r.score), "lost", G_TYPE_BOOLEAN, gboolean(lost), "fresh", G_TYPE_BOOLEAN, gboolean(fresh),
                                        "pts", G_TYPE_UINT64, guint64(GST_BUFFER_PTS(buf)), nullptr);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
  }
}

// One tracking step on a frame: a pending adapter swap, targets to start (init-box, signals,
// events, auto-init detections) and to remove, then every target tracked in one batch.
// Called with st->lock held. Throws on a failure that must stop the stream.
static std::vector<lorat::TrackResult> process_frame(GstLoratTrack* self, const lorat::ImageView& view,
                                                      const std::vector<lorat::Box>& detections, const std::string& init_box) {
  State* st = self->state;
  auto t0 = std::chrono::steady_clock::now();
  if (!st->next_model.is_empty()) {
    st->tracker->set_model(st->next_model);
    st->model = st->next_model;
    st->next_model = lorat::LoratModel(nullptr);
    GST_INFO_OBJECT(self, "new adapter in place after %.1f ms between two frames",
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  if (!st->init_box_applied) {
    st->init_box_applied = true;
    for (const auto& b : lorat::parse_boxes(init_box)) st->pending_add.push_back({st->next_id++, b});
  }
  for (int id : st->pending_remove) st->tracker->remove_target(id);
  st->pending_remove.clear();
  for (const auto& d : detections) {
    bool known = false;
    for (const auto& t : st->last_boxes) known = known || lorat::iou(t, d) > 0.3;
    for (const auto& p : st->pending_add) known = known || lorat::iou(p.box, d) > 0.3;
    if (!known) st->pending_add.push_back({st->next_id++, d});
  }
  std::vector<PendingTarget> adds;
  adds.swap(st->pending_add);
  std::vector<int> fresh;
  for (const auto& p : adds) {
    try {
      st->tracker->add_target(view, p.box, p.id);
      fresh.push_back(p.id);
    } catch (const lorat::Error& e) {
      // A box that does not fit this frame: the stream goes on without that target.
      GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS, ("Cannot start track %d: %s.", p.id, e.what()), (nullptr));
    }
  }
  // Targets started on this frame report their initial box; the others are tracked.
  std::vector<lorat::TrackResult> results = st->tracker->track(view, fresh);
  st->last_boxes.clear();
  for (const auto& r : results) st->last_boxes.push_back(r.box);
  double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  st->processing_ns = st->processing_ns == 0 ? ns : 0.9 * st->processing_ns + 0.1 * ns;
  return results;
}

struct FrameProps {
  std::string init_box, label;
  double threshold;
  bool post, auto_init, latest;
};

static FrameProps frame_props(GstLoratTrack* self) {
  FrameProps p;
  GST_OBJECT_LOCK(self);
  p.init_box = self->init_box ? self->init_box : "";
  p.label = self->label ? self->label : "object";
  p.threshold = self->score_threshold;
  p.post = self->post_messages;
  p.auto_init = self->auto_init;
  p.latest = self->mode == MODE_LATEST;
  GST_OBJECT_UNLOCK(self);
  return p;
}

// mode=latest: tracks whatever frame is newest, until told to stop.
static void worker_loop(GstLoratTrack* self) {
  State* st = self->state;
  State::Job job;
  for (;;) {
    {
      std::unique_lock<std::mutex> slot(st->slot_lock);
      st->slot_cv.wait(slot, [st] { return st->job_ready || st->worker_stop; });
      if (st->worker_stop) return;
      std::swap(job, st->job);
      st->job_ready = false;
    }
    std::string init_box = frame_props(self).init_box;
    std::vector<lorat::TrackResult> results;
    try {
      std::lock_guard<std::mutex> guard(st->lock);
      if (!st->tracker) continue;
      results = process_frame(self, job.view, job.detections, init_box);
    } catch (const std::exception& e) {
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Tracking failed: %s", e.what()), (nullptr));
      std::lock_guard<std::mutex> slot(st->slot_lock);
      st->worker_failed = true;
      return;
    }
    std::lock_guard<std::mutex> slot(st->slot_lock);
    st->latest = std::move(results);
  }
}

// A private copy of the frame's planes, and a view of it, for the worker.
static void copy_frame(GstVideoFrame* frame, const lorat::ImageView& view, State::Job& job) {
  size_t offsets[3] = {0, 0, 0}, total = 0;
  int planes = int(GST_VIDEO_FRAME_N_PLANES(frame));
  for (int i = 0; i < planes && i < 3; ++i) {
    int rows = i == 0 ? view.height : (view.height + 1) / 2;
    offsets[i] = total;
    total += size_t(view.strides[i]) * rows;
  }
  job.pixels.resize(total);
  job.view = view;
  for (int i = 0; i < planes && i < 3; ++i) {
    int rows = i == 0 ? view.height : (view.height + 1) / 2;
    std::memcpy(job.pixels.data() + offsets[i], view.planes[i], size_t(view.strides[i]) * rows);
    job.view.planes[i] = job.pixels.data() + offsets[i];
  }
}

static GstFlowReturn gst_lorat_track_transform_frame_ip(GstVideoFilter* filter, GstVideoFrame* frame) {
  GstLoratTrack* self = GST_LORAT_TRACK(filter);
  State* st = self->state;
  FrameProps props = frame_props(self);
  lorat::ImageView view;
  try {
    view = view_of(frame);
  } catch (const lorat::Error& e) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("%s", e.what()), (nullptr));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  std::vector<lorat::Box> detections = props.auto_init ? upstream_detections(frame->buffer) : std::vector<lorat::Box>{};

  if (props.latest) {
    std::vector<lorat::TrackResult> latest;
    {
      std::lock_guard<std::mutex> slot(st->slot_lock);
      if (st->worker_failed) return GST_FLOW_ERROR;
      if (!st->worker.joinable()) st->worker = std::thread(worker_loop, self);
      copy_frame(frame, view, st->job);
      st->job.detections = std::move(detections);
      st->job_ready = true;
      latest = st->latest;
    }
    st->slot_cv.notify_one();
    for (const auto& r : latest) attach_result(self, frame->buffer, r, props.label.c_str(), props.threshold, props.post, false, view.width, view.height);
    return GST_FLOW_OK;
  }

  std::vector<lorat::TrackResult> results;
  {
    std::lock_guard<std::mutex> guard(st->lock);
    if (!st->tracker) return GST_FLOW_FLUSHING;
    try {
      results = process_frame(self, view, detections, props.init_box);
    } catch (const std::exception& e) {
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Tracking failed: %s", e.what()), (nullptr));
      return GST_FLOW_ERROR;
    }
  }
  for (const auto& r : results) attach_result(self, frame->buffer, r, props.label.c_str(), props.threshold, props.post, true, view.width, view.height);
  return GST_FLOW_OK;
}

// LATENCY: every-frame mode holds each buffer for the time the model takes, so that time (the
// running mean, 0 before the first frame) is added; latest mode adds nothing.
static gboolean gst_lorat_track_query(GstBaseTransform* trans, GstPadDirection direction, GstQuery* query) {
  GstLoratTrack* self = GST_LORAT_TRACK(trans);
  if (direction != GST_PAD_SRC || GST_QUERY_TYPE(query) != GST_QUERY_LATENCY)
    return GST_BASE_TRANSFORM_CLASS(gst_lorat_track_parent_class)->query(trans, direction, query);
  if (!gst_pad_peer_query(GST_BASE_TRANSFORM_SINK_PAD(trans), query)) return FALSE;
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(query, &live, &min, &max);
  if (!frame_props(self).latest) {
    GstClockTime ours;
    {
      std::lock_guard<std::mutex> guard(self->state->lock);
      ours = GstClockTime(self->state->processing_ns);
    }
    min += ours;
    if (GST_CLOCK_TIME_IS_VALID(max)) max += ours;
  }
  gst_query_set_latency(query, live, min, max);
  return TRUE;
}

static gint add_target_signal(GstLoratTrack* self, gdouble x, gdouble y, gdouble w, gdouble h) {
  if (!(w > 0 && h > 0) || !std::isfinite(x) || !std::isfinite(y)) {
    GST_WARNING_OBJECT(self, "add-target: width and height must be positive (%g,%g,%g,%g)", x, y, w, h);
    return -1;
  }
  State* st = self->state;
  std::lock_guard<std::mutex> guard(st->lock);
  int id = st->next_id++;
  st->pending_add.push_back({id, lorat::Box{x, y, w, h}});
  return id;
}

static gboolean remove_target_signal(GstLoratTrack* self, guint id) {
  State* st = self->state;
  std::lock_guard<std::mutex> guard(st->lock);
  for (auto it = st->pending_add.begin(); it != st->pending_add.end(); ++it)
    if (it->id == int(id)) {
      st->pending_add.erase(it);
      return TRUE;
    }
  bool known = false;
  if (st->tracker)
    for (int t : st->tracker->target_ids()) known = known || t == int(id);
  if (known) st->pending_remove.push_back(int(id));
  return known;
}

// "lorat-add-target" {x, y, w, h: double} and "lorat-remove-target" {track-id: uint} events.
static gboolean handle_custom_event(GstLoratTrack* self, GstEvent* event) {
  const GstStructure* s = gst_event_get_structure(event);
  if (!s) return FALSE;
  if (gst_structure_has_name(s, "lorat-add-target")) {
    gdouble x, y, w, h;
    if (!gst_structure_get_double(s, "x", &x) || !gst_structure_get_double(s, "y", &y) || !gst_structure_get_double(s, "w", &w) ||
        !gst_structure_get_double(s, "h", &h)) {
      GST_WARNING_OBJECT(self, "lorat-add-target event without double fields x, y, w, h: ignored");
      return TRUE;
    }
    add_target_signal(self, x, y, w, h);
    return TRUE;
  }
  if (gst_structure_has_name(s, "lorat-remove-target")) {
    guint id;
    if (gst_structure_get_uint(s, "track-id", &id)) remove_target_signal(self, id);
    return TRUE;
  }
  return FALSE;
}

static gboolean gst_lorat_track_sink_event(GstBaseTransform* trans, GstEvent* event) {
  if (GST_EVENT_TYPE(event) == GST_EVENT_CUSTOM_DOWNSTREAM && handle_custom_event(GST_LORAT_TRACK(trans), event)) {
    gst_event_unref(event);
    return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_lorat_track_parent_class)->sink_event(trans, event);
}

static gboolean gst_lorat_track_src_event(GstBaseTransform* trans, GstEvent* event) {
  if (GST_EVENT_TYPE(event) == GST_EVENT_CUSTOM_UPSTREAM && handle_custom_event(GST_LORAT_TRACK(trans), event)) {
    gst_event_unref(event);
    return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_lorat_track_parent_class)->src_event(trans, event);
}

static void gst_lorat_track_finalize(GObject* object) {
  GstLoratTrack* self = GST_LORAT_TRACK(object);
  stop_worker(self->state);
  if (self->state->swap_thread.joinable()) self->state->swap_thread.join();
  delete self->state;
  g_free(self->model_path);
  g_free(self->adapter);
  g_free(self->init_box);
  g_free(self->label);
  G_OBJECT_CLASS(gst_lorat_track_parent_class)->finalize(object);
}

static void gst_lorat_track_class_init(GstLoratTrackClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  GstVideoFilterClass* filter_class = GST_VIDEO_FILTER_CLASS(klass);

  gobject_class->set_property = gst_lorat_track_set_property;
  gobject_class->get_property = gst_lorat_track_get_property;
  gobject_class->finalize = gst_lorat_track_finalize;

  const auto flags = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const auto ready_flags = GParamFlags(flags | GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model",
                          "Path of a gst-lorat model bundle (.safetensors). Unset: the shipped default model, the first "
                          "starter/starter.safetensors found in $LORAT_MODELS_DIR, " LORAT_SOURCE_MODELS_DIR " (build tree), "
                          LORAT_INSTALLED_MODELS_DIR " (installed); $LORAT_DEFAULT_MODEL, when set, replaces that search",
                          nullptr, ready_flags));
  g_object_class_install_property(gobject_class, PROP_ADAPTER,
      g_param_spec_string("adapter", "Adapter",
                          "LoRA adapter (.safetensors) merged into the model at load time; may change while PLAYING (swapped in between two frames)",
                          nullptr, GParamFlags(flags | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(gobject_class, PROP_DEVICE,
      g_param_spec_enum("device", "Device", "Where the model runs", device_get_type(), DEVICE_AUTO, ready_flags));
  g_object_class_install_property(gobject_class, PROP_PRECISION,
      g_param_spec_enum("precision", "Precision", "Arithmetic of the model", precision_get_type(), PRECISION_AUTO, ready_flags));
  g_object_class_install_property(gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads", "CPU threads of the model (0: LibTorch's default)", 0, 256, 0, ready_flags));
  g_object_class_install_property(gobject_class, PROP_INIT_BOX,
      g_param_spec_string("init-box", "Initial boxes",
                          "Targets to track from the first frame: x,y,w,h in pixels, several separated by ';'", nullptr, ready_flags));
  g_object_class_install_property(gobject_class, PROP_SCORE_THRESHOLD,
      g_param_spec_double("score-threshold", "Score threshold", "Below this confidence a target is reported lost", 0.0, 1.0,
                          kDefaultScoreThreshold, GParamFlags(flags | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean("post-messages", "Post messages", "Post a lorat-box element message per target and frame", FALSE,
                           GParamFlags(flags | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(gobject_class, PROP_LABEL,
      g_param_spec_string("label", "Label", "roi_type of the region-of-interest metas", "object", GParamFlags(flags | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(gobject_class, PROP_AUTO_INIT,
      g_param_spec_boolean("auto-init", "Auto init", "Start targets from region-of-interest metas an upstream detector attached", FALSE,
                           GParamFlags(flags | GST_PARAM_MUTABLE_PLAYING)));

  g_object_class_install_property(gobject_class, PROP_MODE,
      g_param_spec_enum("mode", "Mode", "every-frame: each buffer waits for its boxes; latest: live sources never wait for the model",
                        mode_get_type(), MODE_EVERY_FRAME, ready_flags));
  g_object_class_install_property(gobject_class, PROP_SIZE_UPDATE_RATE,
      g_param_spec_double("size-update-rate", "Size update rate",
                          "Share of the model's size change a box takes each frame (in log space; the centre is always the model's): "
                          "1 = the model's size as it is (the spec), 0 = the model's own setting (the shipped model: 0.03)",
                          0.0, 1.0, 0.0, ready_flags));

  signals[SIGNAL_ADD_TARGET] = g_signal_new_class_handler("add-target", G_TYPE_FROM_CLASS(klass), GSignalFlags(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
                                                          G_CALLBACK(add_target_signal), nullptr, nullptr, nullptr, G_TYPE_INT, 4,
                                                          G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_DOUBLE);
  signals[SIGNAL_REMOVE_TARGET] = g_signal_new_class_handler("remove-target", G_TYPE_FROM_CLASS(klass),
                                                             GSignalFlags(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION), G_CALLBACK(remove_target_signal),
                                                             nullptr, nullptr, nullptr, G_TYPE_BOOLEAN, 1, G_TYPE_UINT);

  GstCaps* caps = gst_caps_from_string(GST_VIDEO_CAPS_MAKE(VIDEO_FORMATS));
  gst_element_class_add_pad_template(element_class, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
  gst_element_class_add_pad_template(element_class, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref(caps);
  gst_element_class_set_static_metadata(element_class, "LoRAT tracker", "Filter/Analyzer/Video",
                                        "Tracks objects with LoRAT and attaches their boxes as region-of-interest metadata",
                                        "gst-lorat developers");

  trans_class->start = GST_DEBUG_FUNCPTR(gst_lorat_track_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_lorat_track_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_lorat_track_sink_event);
  trans_class->src_event = GST_DEBUG_FUNCPTR(gst_lorat_track_src_event);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_lorat_track_query);
  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_lorat_track_set_info);
  filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_lorat_track_transform_frame_ip);

  gst_type_mark_as_plugin_api(device_get_type(), GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(precision_get_type(), GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(mode_get_type(), GstPluginAPIFlags(0));
  GST_DEBUG_CATEGORY_INIT(lorat_track_debug, "lorattrack", 0, "LoRAT tracker");
}

static void gst_lorat_track_init(GstLoratTrack* self) {
  self->state = new State();
  self->device = DEVICE_AUTO;
  self->precision = PRECISION_AUTO;
  self->score_threshold = kDefaultScoreThreshold;
  self->label = g_strdup("object");
}
