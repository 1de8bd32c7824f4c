// lorattrack as a user sees it: caps, the ROI metas and bus messages it produces, its action
// signals and custom events, its errors and warnings, state changes, and adapter swaps while
// PLAYING. Driven through GstHarness with the tiny T-112 model on 160x120 synthetic frames.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/gstvideometa.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gst_test_util.h"
#include "lorat/checkpoint.h"
#include "lorat/config.h"
#include "model_cache.h"
#include "test_util.h"

namespace {

using lorat_gst_test::caps_for;
using lorat_gst_test::scene_buffer;
using lorat_gst_test::tiny_model_path;
using Props = std::vector<std::pair<std::string, std::string>>;

constexpr int kW = 160, kH = 120;
constexpr GstClockTime kFrame = GST_SECOND / 25;

const std::vector<std::string> kFormats = {"RGB",  "BGR",  "RGBx", "BGRx", "xRGB", "xBGR", "RGBA",
                                           "BGRA", "ARGB", "ABGR", "I420", "NV12", "GRAY8"};

// One region-of-interest meta as read back from a buffer.
struct Roi {
  std::string type;
  int id = 0;
  guint x = 0, y = 0, w = 0, h = 0;
  bool has_param = false;  // a "lorat" parameter structure
  bool param_types_ok = false;  // track-id uint, score double, lost boolean
  guint track_id = 0;
  double score = -1;
  gboolean lost = FALSE;
};

std::vector<Roi> all_rois(GstBuffer* buf) {
  std::vector<Roi> out;
  gpointer iter = nullptr;
  GstMeta* meta;
  while ((meta = gst_buffer_iterate_meta_filtered(buf, &iter, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    auto* m = reinterpret_cast<GstVideoRegionOfInterestMeta*>(meta);
    Roi r;
    r.type = g_quark_to_string(m->roi_type);
    r.id = m->id;
    r.x = m->x, r.y = m->y, r.w = m->w, r.h = m->h;
    if (GstStructure* s = gst_video_region_of_interest_meta_get_param(m, "lorat")) {
      r.has_param = true;
      r.param_types_ok = gst_structure_get_field_type(s, "track-id") == G_TYPE_UINT &&
                         gst_structure_get_field_type(s, "score") == G_TYPE_DOUBLE &&
                         gst_structure_get_field_type(s, "lost") == G_TYPE_BOOLEAN;
      gst_structure_get_uint(s, "track-id", &r.track_id);
      gst_structure_get_double(s, "score", &r.score);
      gst_structure_get_boolean(s, "lost", &r.lost);
    }
    out.push_back(r);
  }
  return out;
}

// Only the metas lorattrack attached (they carry the "lorat" parameter).
std::vector<Roi> track_rois(GstBuffer* buf) {
  std::vector<Roi> out;
  for (const auto& r : all_rois(buf))
    if (r.has_param) out.push_back(r);
  return out;
}

std::set<int> ids_of(const std::vector<Roi>& rois) {
  std::set<int> ids;
  for (const auto& r : rois) ids.insert(r.id);
  return ids;
}

const Roi* find_id(const std::vector<Roi>& rois, int id) {
  for (const auto& r : rois)
    if (r.id == id) return &r;
  return nullptr;
}

// Every lorattrack meta is well formed and inside a w x h frame.
void expect_well_formed(const std::vector<Roi>& rois, int w, int h, const std::string& label = "object") {
  for (const auto& r : rois) {
    SCOPED_TRACE("track " + std::to_string(r.id));
    EXPECT_EQ(r.type, label);
    EXPECT_TRUE(r.param_types_ok);
    EXPECT_EQ(int(r.track_id), r.id);
    EXPECT_GT(r.id, 0);
    EXPECT_GE(r.score, 0.0);
    EXPECT_LE(r.score, 1.0);
    EXPECT_GT(r.w, 0u);
    EXPECT_GT(r.h, 0u);
    EXPECT_LE(r.x + r.w, guint(w));
    EXPECT_LE(r.y + r.h, guint(h));
  }
}

// The text of the first message of `type` on the bus (error or warning), "" when none.
std::string pop_text(GstBus* bus, GstMessageType type, GstClockTime timeout = 0) {
  GstMessage* msg = gst_bus_timed_pop_filtered(bus, timeout, type);
  if (!msg) return "";
  GError* err = nullptr;
  gchar* debug = nullptr;
  if (type == GST_MESSAGE_ERROR)
    gst_message_parse_error(msg, &err, &debug);
  else
    gst_message_parse_warning(msg, &err, &debug);
  std::string text = std::string(err ? err->message : "(no message)") + " | " + (debug ? debug : "");
  g_clear_error(&err);
  g_free(debug);
  gst_message_unref(msg);
  return text;
}

GstElement* make_track(const Props& props, bool default_model = true) {
  tiny_model_path();  // gst_init
  GstElement* el = gst_element_factory_make("lorattrack", nullptr);
  if (!el) return nullptr;
  gst_object_ref_sink(el);
  if (default_model) {
    g_object_set(el, "model", tiny_model_path().c_str(), nullptr);
    gst_util_set_object_arg(G_OBJECT(el), "device", "cpu");
  }
  for (const auto& [name, value] : props) gst_util_set_object_arg(G_OBJECT(el), name.c_str(), value.c_str());
  return el;
}

// A lorattrack in a harness, with its own bus; started (PLAYING) on construction. Without
// set_model the model property stays unset (the default model).
class Track {
 public:
  explicit Track(const Props& props, const std::string& format = "RGB", int w = kW, int h = kH, bool set_model = true) {
    el = make_track(props, set_model);
    if (el && !set_model) gst_util_set_object_arg(G_OBJECT(el), "device", "cpu");
    if (!el) return;
    bus = gst_bus_new();
    gst_element_set_bus(el, bus);
    h_ = gst_harness_new_with_element(el, "sink", "src");
    gst_harness_set_src_caps_str(h_, caps_for(format, w, h).c_str());
  }
  ~Track() { stop(); }
  Track(const Track&) = delete;
  Track& operator=(const Track&) = delete;

  bool ok() const { return el != nullptr; }
  GstHarness* harness() { return h_; }

  // Back to NULL and up to PLAYING again, same harness and element (a new stream starts).
  void restart(const std::string& format = "RGB", int w = kW, int h = kH) {
    gst_element_set_state(el, GST_STATE_NULL);
    gst_harness_play(h_);
    gst_harness_push_event(h_, gst_event_new_stream_start("restarted"));
    gst_harness_set_src_caps_str(h_, caps_for(format, w, h).c_str());
  }

  void stop() {
    if (h_) gst_harness_teardown(h_);
    h_ = nullptr;
    if (el) {
      gst_element_set_state(el, GST_STATE_NULL);
      gst_element_set_bus(el, nullptr);
      gst_object_unref(el);
      el = nullptr;
    }
    if (bus) gst_object_unref(bus);
    bus = nullptr;
  }

  // Pushes a scene with the square at (sx, sy) and returns what came out (caller unrefs), or
  // nullptr when the push failed.
  GstBuffer* push(const std::string& format, int sx, int sy, int frame, int w = kW, int h = kH, GstFlowReturn* flow = nullptr) {
    GstBuffer* in = scene_buffer(format, w, h, sx, sy);
    GST_BUFFER_PTS(in) = GstClockTime(frame) * kFrame;
    GST_BUFFER_DURATION(in) = kFrame;
    return push_buffer(in, flow);
  }
  GstBuffer* push_buffer(GstBuffer* in, GstFlowReturn* flow = nullptr) {
    GstFlowReturn ret = gst_harness_push(h_, in);
    if (flow) *flow = ret;
    if (ret != GST_FLOW_OK) return nullptr;
    return gst_harness_pull(h_);
  }

  void expect_no_errors() {
    EXPECT_EQ(pop_text(bus, GST_MESSAGE_ERROR), "");
    EXPECT_EQ(pop_text(bus, GST_MESSAGE_WARNING), "");
  }

  GstElement* el = nullptr;
  GstBus* bus = nullptr;

 private:
  GstHarness* h_ = nullptr;
};

// Square positions of a slowly moving target.
int sq_x(int frame) { return 60 + 2 * frame; }
int sq_y(int frame) { return 50 + frame; }
const char* kInitBox = "60,50,20,16";

// ---------------------------------------------------------------------------------------------
// Formats: negotiation and one meta per target on every buffer.

class TrackFormat : public ::testing::TestWithParam<std::string> {};

TEST_P(TrackFormat, NegotiatesAndAttachesOneMetaPerTargetOnEveryBuffer) {
  const std::string format = GetParam();
  Track t(Props{{"init-box", std::string(kInitBox) + ";110,20,24,30"}}, format);
  ASSERT_TRUE(t.ok());
  // The element says yes to the format before any data flows.
  GstPad* sink = gst_element_get_static_pad(t.el, "sink");
  GstCaps* caps = gst_caps_from_string(caps_for(format, kW, kH).c_str());
  EXPECT_TRUE(gst_pad_query_accept_caps(sink, caps));
  gst_caps_unref(caps);
  gst_object_unref(sink);

  for (int f = 0; f < 4; ++f) {
    SCOPED_TRACE(format + " frame " + std::to_string(f));
    GstFlowReturn flow;
    GstBuffer* out = t.push(format, sq_x(f), sq_y(f), f, kW, kH, &flow);
    ASSERT_EQ(flow, GST_FLOW_OK);
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(GST_BUFFER_PTS(out), GstClockTime(f) * kFrame);
    auto rois = all_rois(out);
    ASSERT_EQ(rois.size(), 2u);
    EXPECT_EQ(ids_of(rois), (std::set<int>{1, 2}));
    expect_well_formed(rois, kW, kH);
    if (f == 0) {
      const Roi* a = find_id(rois, 1);
      const Roi* b = find_id(rois, 2);
      ASSERT_TRUE(a && b);
      EXPECT_EQ(std::vector<guint>({a->x, a->y, a->w, a->h}), std::vector<guint>({60, 50, 20, 16}));
      EXPECT_EQ(std::vector<guint>({b->x, b->y, b->w, b->h}), std::vector<guint>({110, 20, 24, 30}));
      EXPECT_DOUBLE_EQ(a->score, 1.0);
      EXPECT_DOUBLE_EQ(b->score, 1.0);
      EXPECT_FALSE(a->lost);
      EXPECT_FALSE(b->lost);
    }
    gst_buffer_unref(out);
  }
  // What went out downstream is the format that came in.
  GstCaps* out_caps = gst_pad_get_current_caps(t.harness()->sinkpad);
  ASSERT_NE(out_caps, nullptr);
  EXPECT_STREQ(gst_structure_get_string(gst_caps_get_structure(out_caps, 0), "format"), format.c_str());
  gst_caps_unref(out_caps);
  t.expect_no_errors();
}

INSTANTIATE_TEST_SUITE_P(AllFormats, TrackFormat, ::testing::ValuesIn(kFormats),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

TEST(LoratTrack, CustomLabelIsTheRoiType) {
  Track t(Props{{"init-box", kInitBox}, {"label", "person"}});
  ASSERT_TRUE(t.ok());
  for (int f = 0; f < 3; ++f) {
    GstBuffer* out = t.push("RGB", sq_x(f), sq_y(f), f);
    ASSERT_NE(out, nullptr);
    auto rois = all_rois(out);
    ASSERT_EQ(rois.size(), 1u);
    expect_well_formed(rois, kW, kH, "person");
    gst_buffer_unref(out);
  }
}

TEST(LoratTrack, RefusesAFormatItDoesNotRead) {
  Track t(Props{{"init-box", kInitBox}}, "RGB");
  ASSERT_TRUE(t.ok());
  GstCaps* yuy2 = gst_caps_from_string(caps_for("YUY2", kW, kH).c_str());
  GstPad* sink = gst_element_get_static_pad(t.el, "sink");
  EXPECT_FALSE(gst_pad_query_accept_caps(sink, yuy2));
  gst_object_unref(sink);
  gst_harness_push_event(t.harness(), gst_event_new_caps(yuy2));
  GstFlowReturn flow;
  GstBuffer* out = t.push("YUY2", 60, 50, 0, kW, kH, &flow);
  EXPECT_EQ(flow, GST_FLOW_NOT_NEGOTIATED);
  if (out) gst_buffer_unref(out);
}

TEST(LoratTrack, YUY2InAPipelineFailsToNegotiate) {
  tiny_model_path();
  std::string desc = "videotestsrc num-buffers=2 ! video/x-raw,format=YUY2,width=160,height=120 ! lorattrack device=cpu model=\"" +
                     tiny_model_path() + "\" init-box=\"" + kInitBox + "\" ! fakesink";
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(desc.c_str(), &err);
  if (err) {
    // Refused as early as linking.
    EXPECT_NE(std::string(err->message).find("caps"), std::string::npos) << err->message;
    g_clear_error(&err);
    if (pipeline) gst_object_unref(pipeline);
    return;
  }
  ASSERT_NE(pipeline, nullptr);
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstMessage* msg = gst_bus_timed_pop_filtered(bus, 30 * GST_SECOND, GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_ERROR);
  gst_message_unref(msg);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
}

// ---------------------------------------------------------------------------------------------
// Bus messages.

TEST(LoratTrack, PostsOneLoratBoxMessagePerTargetAndFrame) {
  Track t(Props{{"init-box", std::string(kInitBox) + ";110,20,24,30"}, {"post-messages", "true"}});
  ASSERT_TRUE(t.ok());
  for (int f = 0; f < 4; ++f) {
    SCOPED_TRACE("frame " + std::to_string(f));
    GstBuffer* out = t.push("RGB", sq_x(f), sq_y(f), f);
    ASSERT_NE(out, nullptr);
    auto rois = all_rois(out);
    std::set<guint> seen;
    while (GstMessage* msg = gst_bus_pop_filtered(t.bus, GST_MESSAGE_ELEMENT)) {
      const GstStructure* s = gst_message_get_structure(msg);
      ASSERT_NE(s, nullptr);
      EXPECT_TRUE(gst_structure_has_name(s, "lorat-box")) << gst_structure_get_name(s);
      EXPECT_EQ(GST_MESSAGE_SRC(msg), GST_OBJECT(t.el));
      guint id = 0;
      double x = -1, y = -1, w = -1, h = -1, score = -1;
      gboolean lost = TRUE;
      guint64 pts = 0;
      EXPECT_TRUE(gst_structure_get_uint(s, "track-id", &id));
      EXPECT_TRUE(gst_structure_get_double(s, "x", &x));
      EXPECT_TRUE(gst_structure_get_double(s, "y", &y));
      EXPECT_TRUE(gst_structure_get_double(s, "w", &w));
      EXPECT_TRUE(gst_structure_get_double(s, "h", &h));
      EXPECT_TRUE(gst_structure_get_double(s, "score", &score));
      EXPECT_TRUE(gst_structure_get_boolean(s, "lost", &lost));
      EXPECT_TRUE(gst_structure_get_uint64(s, "pts", &pts));
      EXPECT_EQ(pts, guint64(f) * kFrame);
      EXPECT_GE(score, 0.0);
      EXPECT_LE(score, 1.0);
      EXPECT_GT(w, 0.0);
      EXPECT_GT(h, 0.0);
      EXPECT_GE(x, 0.0);
      EXPECT_GE(y, 0.0);
      EXPECT_LE(x + w, kW + 1e-6);
      EXPECT_LE(y + h, kH + 1e-6);
      // The message and the meta of the same target agree.
      const Roi* r = find_id(rois, int(id));
      EXPECT_NE(r, nullptr) << "message for track " << id << " without a meta";
      if (r) {
        EXPECT_DOUBLE_EQ(score, r->score);
        EXPECT_EQ(lost, r->lost);
        EXPECT_LE(r->x, x + 1e-6);
        EXPECT_GE(r->x + r->w, x + w - 1e-6);
      }
      if (f == 0) {
        EXPECT_DOUBLE_EQ(score, 1.0);
        if (id == 1) {
          EXPECT_DOUBLE_EQ(x, 60);
          EXPECT_DOUBLE_EQ(y, 50);
          EXPECT_DOUBLE_EQ(w, 20);
          EXPECT_DOUBLE_EQ(h, 16);
        }
      }
      EXPECT_TRUE(seen.insert(id).second) << "two messages for track " << id;
      gst_message_unref(msg);
    }
    EXPECT_EQ(seen, (std::set<guint>{1, 2}));
    gst_buffer_unref(out);
  }
  t.expect_no_errors();
}

TEST(LoratTrack, PostsNoMessagesByDefault) {
  Track t(Props{{"init-box", kInitBox}});
  ASSERT_TRUE(t.ok());
  GstBuffer* out = t.push("RGB", sq_x(0), sq_y(0), 0);
  ASSERT_NE(out, nullptr);
  gst_buffer_unref(out);
  GstMessage* msg = gst_bus_pop_filtered(t.bus, GST_MESSAGE_ELEMENT);
  EXPECT_EQ(msg, nullptr);
  if (msg) gst_message_unref(msg);
}

// ---------------------------------------------------------------------------------------------
// Adding and removing targets while PLAYING.

TEST(LoratTrack, AddAndRemoveTargetSignals) {
  Track t(Props{{"init-box", kInitBox}});
  ASSERT_TRUE(t.ok());
  int f = 0;
  GstBuffer* out = t.push("RGB", sq_x(f), sq_y(f), f);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(ids_of(all_rois(out)), std::set<int>{1});
  gst_buffer_unref(out);

  gint id = 0;
  g_signal_emit_by_name(t.el, "add-target", 110.0, 20.0, 24.0, 30.0, &id);
  EXPECT_GT(id, 0);
  EXPECT_NE(id, 1);
  ++f;
  out = t.push("RGB", sq_x(f), sq_y(f), f);
  ASSERT_NE(out, nullptr);
  auto rois = all_rois(out);
  EXPECT_EQ(ids_of(rois), (std::set<int>{1, id}));
  expect_well_formed(rois, kW, kH);
  if (const Roi* r = find_id(rois, id)) {
    EXPECT_EQ(std::vector<guint>({r->x, r->y, r->w, r->h}), std::vector<guint>({110, 20, 24, 30}));
    EXPECT_DOUBLE_EQ(r->score, 1.0);
  }
  gst_buffer_unref(out);
  ++f;
  out = t.push("RGB", sq_x(f), sq_y(f), f);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(ids_of(all_rois(out)), (std::set<int>{1, id}));
  gst_buffer_unref(out);

  // A second add gets yet another id.
  gint id3 = 0;
  g_signal_emit_by_name(t.el, "add-target", 10.0, 10.0, 30.0, 30.0, &id3);
  EXPECT_GT(id3, 0);
  EXPECT_NE(id3, 1);
  EXPECT_NE(id3, id);

  gboolean removed = FALSE;
  g_signal_emit_by_name(t.el, "remove-target", guint(1), &removed);
  EXPECT_TRUE(removed);
  gboolean unknown = TRUE;
  g_signal_emit_by_name(t.el, "remove-target", guint(999), &unknown);
  EXPECT_FALSE(unknown);
  for (int k = 0; k < 3; ++k) {
    ++f;
    out = t.push("RGB", sq_x(f), sq_y(f), f);
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(ids_of(all_rois(out)), (std::set<int>{id, id3})) << "frame " << f;
    gst_buffer_unref(out);
  }
  // Once removed, the id is unknown.
  gboolean again = TRUE;
  g_signal_emit_by_name(t.el, "remove-target", guint(1), &again);
  EXPECT_FALSE(again);

  gint bad = 0;
  g_signal_emit_by_name(t.el, "add-target", 10.0, 10.0, 0.0, 10.0, &bad);
  EXPECT_EQ(bad, -1);
  g_signal_emit_by_name(t.el, "add-target", 10.0, 10.0, -5.0, 10.0, &bad);
  EXPECT_EQ(bad, -1);
  g_signal_emit_by_name(t.el, "add-target", 10.0, 10.0, 10.0, 0.0, &bad);
  EXPECT_EQ(bad, -1);
  ++f;
  out = t.push("RGB", sq_x(f), sq_y(f), f);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(ids_of(all_rois(out)), (std::set<int>{id, id3}));
  gst_buffer_unref(out);
  t.expect_no_errors();
}

GstEvent* add_event(GstEventType type, double x, double y, double w, double h) {
  return gst_event_new_custom(type, gst_structure_new("lorat-add-target", "x", G_TYPE_DOUBLE, x, "y", G_TYPE_DOUBLE, y, "w", G_TYPE_DOUBLE, w,
                                                      "h", G_TYPE_DOUBLE, h, nullptr));
}

GstEvent* remove_event(GstEventType type, guint id) {
  return gst_event_new_custom(type, gst_structure_new("lorat-remove-target", "track-id", G_TYPE_UINT, id, nullptr));
}

TEST(LoratTrack, CustomEventsAddAndRemoveTargets) {
  Track t(Props{});  // no init-box: targets come from events only
  ASSERT_TRUE(t.ok());
  int f = 0;
  GstBuffer* out = t.push("RGB", sq_x(f), sq_y(f), f);
  ASSERT_NE(out, nullptr);
  EXPECT_TRUE(all_rois(out).empty());
  gst_buffer_unref(out);

  // Downstream (serialized, from upstream elements or the application through the sink pad).
  EXPECT_TRUE(gst_harness_push_event(t.harness(), add_event(GST_EVENT_CUSTOM_DOWNSTREAM, 62, 51, 20, 16)));
  ++f;
  out = t.push("RGB", sq_x(f), sq_y(f), f);
  ASSERT_NE(out, nullptr);
  auto rois = all_rois(out);
  ASSERT_EQ(rois.size(), 1u);
  const int down_id = rois[0].id;
  EXPECT_GT(down_id, 0);
  EXPECT_EQ(std::vector<guint>({rois[0].x, rois[0].y, rois[0].w, rois[0].h}), std::vector<guint>({62, 51, 20, 16}));
  EXPECT_DOUBLE_EQ(rois[0].score, 1.0);
  gst_buffer_unref(out);

  // Upstream (from a sink or the application through the src pad).
  EXPECT_TRUE(gst_harness_push_upstream_event(t.harness(), add_event(GST_EVENT_CUSTOM_UPSTREAM, 110, 20, 24, 30)));
  ++f;
  out = t.push("RGB", sq_x(f), sq_y(f), f);
  ASSERT_NE(out, nullptr);
  rois = all_rois(out);
  ASSERT_EQ(rois.size(), 2u);
  std::set<int> ids = ids_of(rois);
  EXPECT_TRUE(ids.count(down_id));
  ids.erase(down_id);
  ASSERT_EQ(ids.size(), 1u);
  const int up_id = *ids.begin();
  EXPECT_GT(up_id, 0);
  expect_well_formed(rois, kW, kH);
  gst_buffer_unref(out);

  // Remove by event, downstream then upstream.
  EXPECT_TRUE(gst_harness_push_event(t.harness(), remove_event(GST_EVENT_CUSTOM_DOWNSTREAM, guint(down_id))));
  ++f;
  out = t.push("RGB", sq_x(f), sq_y(f), f);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(ids_of(all_rois(out)), std::set<int>{up_id});
  gst_buffer_unref(out);
  EXPECT_TRUE(gst_harness_push_upstream_event(t.harness(), remove_event(GST_EVENT_CUSTOM_UPSTREAM, guint(up_id))));
  ++f;
  out = t.push("RGB", sq_x(f), sq_y(f), f);
  ASSERT_NE(out, nullptr);
  EXPECT_TRUE(all_rois(out).empty());
  gst_buffer_unref(out);

  // The element consumed its own events: nothing of them came out downstream.
  while (GstEvent* ev = gst_harness_try_pull_event(t.harness())) {
    const GstStructure* s = gst_event_get_structure(ev);
    if (s) {
      EXPECT_FALSE(g_str_has_prefix(gst_structure_get_name(s), "lorat-")) << gst_structure_get_name(s);
    }
    gst_event_unref(ev);
  }
  t.expect_no_errors();
}

// ---------------------------------------------------------------------------------------------
// score-threshold decides "lost".

TEST(LoratTrack, ScoreThresholdOneMarksTrackedTargetsLost) {
  Track t(Props{{"init-box", kInitBox}, {"score-threshold", "1.0"}});
  ASSERT_TRUE(t.ok());
  for (int f = 0; f < 4; ++f) {
    GstBuffer* out = t.push("RGB", sq_x(f), sq_y(f), f);
    ASSERT_NE(out, nullptr);
    auto rois = all_rois(out);
    ASSERT_EQ(rois.size(), 1u);
    if (f == 0) {
      EXPECT_FALSE(rois[0].lost) << "the initial box has score 1";
    } else {
      EXPECT_LT(rois[0].score, 1.0);
      EXPECT_TRUE(rois[0].lost) << "frame " << f << " score " << rois[0].score;
    }
    gst_buffer_unref(out);
  }
}

TEST(LoratTrack, ScoreThresholdZeroNeverMarksLost) {
  Track t(Props{{"init-box", kInitBox}, {"score-threshold", "0.0"}});
  ASSERT_TRUE(t.ok());
  for (int f = 0; f < 4; ++f) {
    GstBuffer* out = t.push("RGB", sq_x(f), sq_y(f), f);
    ASSERT_NE(out, nullptr);
    auto rois = all_rois(out);
    ASSERT_EQ(rois.size(), 1u);
    EXPECT_FALSE(rois[0].lost) << "frame " << f;
    gst_buffer_unref(out);
  }
}

// size-update-rate: a small rate keeps each box's size near the initial 20x16, where the model's
// own sizes (rate 1, the tiny model's setting) jump to the whole search crop; 0 (the default) is
// the model's setting.
TEST(LoratTrack, SizeUpdateRateSmoothsTheBoxSize) {
  auto sizes = [](const char* rate) {
    Track t(Props{{"init-box", kInitBox}, {"size-update-rate", rate}});
    std::vector<std::pair<guint, guint>> out;
    if (!t.ok()) {
      ADD_FAILURE() << "no lorattrack element";
      return out;
    }
    for (int f = 0; f < 4; ++f) {
      GstBuffer* buf = t.push("RGB", sq_x(f), sq_y(f), f);
      if (!buf) {
        ADD_FAILURE() << "push failed at frame " << f << ": " << pop_text(t.bus, GST_MESSAGE_ERROR);
        break;
      }
      auto rois = all_rois(buf);
      if (rois.size() == 1) out.push_back({rois[0].w, rois[0].h});
      gst_buffer_unref(buf);
    }
    t.expect_no_errors();
    return out;
  };
  auto model_own = sizes("0"), spec = sizes("1"), smooth = sizes("0.05");
  ASSERT_EQ(model_own.size(), 4u);
  ASSERT_EQ(smooth.size(), 4u);
  EXPECT_EQ(model_own, spec) << "the tiny model's own rate is 1";
  auto off = [](std::pair<guint, guint> s) { return std::abs(int(s.first) - 20) + std::abs(int(s.second) - 16); };
  for (int f = 1; f < 4; ++f) {
    ASSERT_GE(off(spec[f]), 8) << "frame " << f << ": the model kept the initial size, nothing to smooth";
    EXPECT_LT(4 * off(smooth[f]), off(spec[f])) << "frame " << f << ": " << smooth[f].first << "x" << smooth[f].second << " against "
                                                << spec[f].first << "x" << spec[f].second;
  }
}

TEST(LoratTrack, ScoreThresholdCanChangeWhilePlaying) {
  Track t(Props{{"init-box", kInitBox}, {"score-threshold", "0.0"}});
  ASSERT_TRUE(t.ok());
  GstBuffer* out = t.push("RGB", sq_x(0), sq_y(0), 0);
  ASSERT_NE(out, nullptr);
  gst_buffer_unref(out);
  g_object_set(t.el, "score-threshold", 1.0, nullptr);
  out = t.push("RGB", sq_x(1), sq_y(1), 1);
  ASSERT_NE(out, nullptr);
  auto rois = all_rois(out);
  ASSERT_EQ(rois.size(), 1u);
  EXPECT_TRUE(rois[0].lost);
  gst_buffer_unref(out);
}

// ---------------------------------------------------------------------------------------------
// Bad settings: starting fails with an ERROR naming what is wrong.

// Brings the element up to PAUSED; returns whether that worked and the error text, if any.
std::pair<bool, std::string> try_start(GstElement* el) {
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(el, bus);
  GstStateChangeReturn ret = gst_element_set_state(el, GST_STATE_PAUSED);
  std::string error = pop_text(bus, GST_MESSAGE_ERROR);
  gst_element_set_state(el, GST_STATE_NULL);
  gst_element_set_bus(el, nullptr);
  gst_object_unref(bus);
  return {ret != GST_STATE_CHANGE_FAILURE, error};
}

// Sets (or, with nullptr, unsets) an environment variable for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_) setenv(name_.c_str(), old_.c_str(), 1);
    else unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_, old_;
  bool had_ = false;
};

// A models folder holding starter/starter.safetensors: a copy of `bundle`, or `text` when given.
std::string models_dir_with_starter(const std::string& name, const std::string& bundle, const char* text = nullptr) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(lorat_test::temp_dir()) / name;
  fs::create_directories(dir / "starter");
  if (text) {
    FILE* f = std::fopen((dir / "starter" / "starter.safetensors").c_str(), "w");
    if (f) std::fputs(text, f), std::fclose(f);
  } else {
    fs::copy_file(bundle, dir / "starter" / "starter.safetensors", fs::copy_options::overwrite_existing);
  }
  return dir.string();
}

// Without the model property the element runs the default model: starter/starter.safetensors
// from $LORAT_MODELS_DIR, which comes before the source tree's and the installed models folders.
TEST(LoratTrackDefaultModel, StartsWithoutTheModelPropertyAndTracks) {
  std::string dir = models_dir_with_starter("default-models", tiny_model_path());
  ScopedEnv models("LORAT_MODELS_DIR", dir.c_str());
  ScopedEnv override_off("LORAT_DEFAULT_MODEL", nullptr);
  Track t(Props{{"init-box", kInitBox}}, "RGB", kW, kH, /*set_model=*/false);
  ASSERT_TRUE(t.ok());
  gchar* model = nullptr;
  g_object_get(t.el, "model", &model, nullptr);
  EXPECT_EQ(model, nullptr);  // the property stays unset; the default is resolved at start
  g_free(model);
  for (int f = 0; f < 4; ++f) {
    SCOPED_TRACE("frame " + std::to_string(f));
    GstFlowReturn flow;
    GstBuffer* out = t.push("RGB", sq_x(f), sq_y(f), f, kW, kH, &flow);
    ASSERT_EQ(flow, GST_FLOW_OK);
    ASSERT_NE(out, nullptr);
    auto rois = track_rois(out);
    ASSERT_EQ(rois.size(), 1u);
    EXPECT_EQ(rois[0].id, 1);
    expect_well_formed(rois, kW, kH);
    if (f == 0) {
      EXPECT_EQ(std::vector<guint>({rois[0].x, rois[0].y, rois[0].w, rois[0].h}), std::vector<guint>({60, 50, 20, 16}));
    }
    gst_buffer_unref(out);
  }
  t.expect_no_errors();
}

// $LORAT_MODELS_DIR is searched first: a broken starter there is the one loaded (and named),
// whatever the source tree or the install hold.
TEST(LoratTrackDefaultModel, LoratModelsDirComesFirst) {
  std::string dir = models_dir_with_starter("broken-default-models", "", "not a safetensors file");
  ScopedEnv models("LORAT_MODELS_DIR", dir.c_str());
  ScopedEnv override_off("LORAT_DEFAULT_MODEL", nullptr);
  GstElement* el = make_track({{"init-box", kInitBox}, {"device", "cpu"}}, /*default_model=*/false);
  ASSERT_NE(el, nullptr);
  auto [started, error] = try_start(el);
  EXPECT_FALSE(started);
  EXPECT_NE(error.find(dir + "/starter/starter.safetensors"), std::string::npos) << error;
  gst_object_unref(el);
}

// gst-inspect shows the property's description: it must say what an unset model means.
TEST(LoratTrackDefaultModel, ModelPropertyDescriptionNamesTheDefault) {
  GstElement* el = make_track({}, /*default_model=*/false);
  ASSERT_NE(el, nullptr);
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(el), "model");
  ASSERT_NE(spec, nullptr);
  std::string blurb = g_param_spec_get_blurb(spec);
  EXPECT_NE(blurb.find("default model"), std::string::npos) << blurb;
  EXPECT_NE(blurb.find(lorat::kDefaultModelName), std::string::npos) << blurb;
  EXPECT_NE(blurb.find("LORAT_MODELS_DIR"), std::string::npos) << blurb;
  gst_object_unref(el);
}

// $LORAT_DEFAULT_MODEL replaces the search: that file is the default model.
TEST(LoratTrackDefaultModel, LoratDefaultModelOverridesTheSearch) {
  ScopedEnv override_on("LORAT_DEFAULT_MODEL", tiny_model_path().c_str());
  Track t(Props{{"init-box", kInitBox}}, "RGB", kW, kH, /*set_model=*/false);
  ASSERT_TRUE(t.ok());
  GstBuffer* out = t.push("RGB", sq_x(0), sq_y(0), 0);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(track_rois(out).size(), 1u);
  gst_buffer_unref(out);
  t.expect_no_errors();
}

// No model property and no default model: the element does not start, and says in one sentence
// where it looked and what to set.
TEST(LoratTrackErrors, NoModel) {
  const std::string absent = lorat_test::temp_dir() + "/nonexistent/starter.safetensors";
  ScopedEnv override_on("LORAT_DEFAULT_MODEL", absent.c_str());
  GstElement* el = make_track({{"init-box", kInitBox}, {"device", "cpu"}}, /*default_model=*/false);
  ASSERT_NE(el, nullptr);
  auto [started, error] = try_start(el);
  EXPECT_FALSE(started);
  std::string message = error.substr(0, error.find(" | "));
  EXPECT_NE(message.find("No model"), std::string::npos) << error;
  EXPECT_NE(message.find(absent), std::string::npos) << error;  // where it looked
  EXPECT_NE(message.find("set model="), std::string::npos) << error;
  EXPECT_EQ(message.find('\n'), std::string::npos) << error;
  gst_object_unref(el);
}

TEST(LoratTrackErrors, ModelFileMissing) {
  const std::string path = lorat_test::temp_dir() + "/no-such-model.safetensors";
  GstElement* el = make_track({{"init-box", kInitBox}, {"model", path}});
  ASSERT_NE(el, nullptr);
  auto [started, error] = try_start(el);
  EXPECT_FALSE(started);
  EXPECT_NE(error.find(path), std::string::npos) << error;
  gst_object_unref(el);
}

TEST(LoratTrackErrors, ModelFileNotABundle) {
  const std::string path = lorat_test::temp_dir() + "/not-a-model.safetensors";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("this is not a safetensors file", f);
  std::fclose(f);
  GstElement* el = make_track({{"init-box", kInitBox}, {"model", path}});
  ASSERT_NE(el, nullptr);
  auto [started, error] = try_start(el);
  EXPECT_FALSE(started);
  EXPECT_NE(error.find(path), std::string::npos) << error;
  gst_object_unref(el);
}

TEST(LoratTrackErrors, BadInitBox) {
  for (const char* box : {"1,2,0,4", "garbage", "1,2,3", "1,2,-3,4", "60,50,20,16;nope"}) {
    SCOPED_TRACE(box);
    GstElement* el = make_track({{"init-box", box}});
    ASSERT_NE(el, nullptr);
    auto [started, error] = try_start(el);
    EXPECT_FALSE(started);
    EXPECT_NE(error.find("init-box"), std::string::npos) << error;
    gst_object_unref(el);
  }
}

TEST(LoratTrackErrors, CudaWithoutGpu) {
  GstElement* el = make_track({{"init-box", kInitBox}, {"device", "cuda"}, {"precision", "fp32"}});
  ASSERT_NE(el, nullptr);
  auto [started, error] = try_start(el);
  if (started) {
    EXPECT_EQ(error, "");  // a GPU is there: it simply runs
  } else {
    EXPECT_NE(error.find("CUDA"), std::string::npos) << error;
  }
  gst_object_unref(el);
}

TEST(LoratTrackErrors, Fp16OnCpu) {
  GstElement* el = make_track({{"init-box", kInitBox}, {"device", "cpu"}, {"precision", "fp16"}});
  ASSERT_NE(el, nullptr);
  auto [started, error] = try_start(el);
  EXPECT_FALSE(started);
  EXPECT_NE(error.find("fp16"), std::string::npos) << error;
  gst_object_unref(el);
}

TEST(LoratTrackErrors, InitBoxOutsideTheFrameWarnsAndTheStreamGoesOn) {
  Track t(Props{{"init-box", "500,400,20,16;" + std::string(kInitBox)}});
  ASSERT_TRUE(t.ok());
  for (int f = 0; f < 3; ++f) {
    GstFlowReturn flow;
    GstBuffer* out = t.push("RGB", sq_x(f), sq_y(f), f, kW, kH, &flow);
    ASSERT_EQ(flow, GST_FLOW_OK);
    ASSERT_NE(out, nullptr);
    auto rois = all_rois(out);
    // Only the box that fits is tracked.
    ASSERT_EQ(rois.size(), 1u) << "frame " << f;
    expect_well_formed(rois, kW, kH);
    gst_buffer_unref(out);
  }
  std::string warning = pop_text(t.bus, GST_MESSAGE_WARNING);
  EXPECT_NE(warning, "");
  EXPECT_NE(warning.find("outside"), std::string::npos) << warning;
  EXPECT_EQ(pop_text(t.bus, GST_MESSAGE_ERROR), "");
}

// ---------------------------------------------------------------------------------------------
// auto-init from an upstream detector's metas.

GstBuffer* with_detection(GstBuffer* buf, guint x, guint y, guint w, guint h) {
  gst_buffer_add_video_region_of_interest_meta(buf, "car", x, y, w, h);
  return buf;
}

// A detector that sees the object where the tracker has it: one track, however many frames.
TEST(LoratTrack, AutoInitStartsOneTrackPerDetectedObject) {
  Track t(Props{{"auto-init", "true"}});
  ASSERT_TRUE(t.ok());
  std::set<int> ids;
  guint det[4] = {60, 50, 20, 16};
  for (int f = 0; f < 5; ++f) {
    SCOPED_TRACE("frame " + std::to_string(f));
    GstBuffer* in = with_detection(scene_buffer("RGB", kW, kH, 60, 50), det[0], det[1], det[2], det[3]);
    GST_BUFFER_PTS(in) = GstClockTime(f) * kFrame;
    GstBuffer* out = t.push_buffer(in);
    ASSERT_NE(out, nullptr);
    auto all = all_rois(out);
    auto mine = track_rois(out);
    EXPECT_EQ(all.size(), mine.size() + 1) << "the detector's meta stays on the buffer";
    ASSERT_EQ(mine.size(), 1u) << "a detection of a tracked object must not start another track; tracks "
                               << ::testing::PrintToString(ids_of(mine));
    expect_well_formed(mine, kW, kH);
    ids.insert(mine[0].id);
    if (f == 0) {
      EXPECT_EQ(std::vector<guint>({mine[0].x, mine[0].y, mine[0].w, mine[0].h}), std::vector<guint>({60, 50, 20, 16}));
      EXPECT_DOUBLE_EQ(mine[0].score, 1.0);
    }
    // The next detection is where the track is now.
    det[0] = mine[0].x, det[1] = mine[0].y, det[2] = mine[0].w, det[3] = mine[0].h;
    gst_buffer_unref(out);
  }
  EXPECT_EQ(ids.size(), 1u);
  t.expect_no_errors();
}

TEST(LoratTrack, AutoInitOverlappingDetectionsStartOneTrackAndANewObjectAnother) {
  Track t(Props{{"auto-init", "true"}});
  ASSERT_TRUE(t.ok());
  // Two detections of the same object on one frame (IoU 0.73).
  GstBuffer* in = with_detection(with_detection(scene_buffer("RGB", kW, kH, 60, 50), 60, 50, 20, 16), 62, 51, 20, 16);
  GstBuffer* out = t.push_buffer(in);
  ASSERT_NE(out, nullptr);
  auto mine = track_rois(out);
  ASSERT_EQ(mine.size(), 1u);
  const int first = mine[0].id;
  gst_buffer_unref(out);
  // Nothing detected: the track goes on.
  out = t.push("RGB", 60, 50, 1);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(ids_of(track_rois(out)), std::set<int>{first});
  // A small object far from anything tracked (the track covers at most the whole frame).
  const auto rois_now = track_rois(out);  // kept alive: find_id points into it
  const Roi* now = find_id(rois_now, first);
  ASSERT_NE(now, nullptr);
  const guint nx = now->x + now->w / 2 < kW / 2 ? 130 : 5, ny = 100;
  gst_buffer_unref(out);
  in = with_detection(scene_buffer("RGB", kW, kH, 60, 50), nx, ny, 8, 8);
  out = t.push_buffer(in);
  ASSERT_NE(out, nullptr);
  mine = track_rois(out);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_TRUE(find_id(mine, first));
  for (const auto& r : mine)
    if (r.id != first) {
      EXPECT_EQ(std::vector<guint>({r.x, r.y, r.w, r.h}), std::vector<guint>({nx, ny, 8, 8}));
    }
  gst_buffer_unref(out);
  t.expect_no_errors();
}

// After a resolution change the detector reports the tracked object in the new frame's pixels:
// still the same object, so no second track.
TEST(LoratTrack, AutoInitAfterAResolutionChangeStillKnowsTheTrackedObject) {
  Track t(Props{{"auto-init", "true"}});
  ASSERT_TRUE(t.ok());
  guint det[4] = {60, 50, 20, 16};
  int first = 0;
  for (int f = 0; f < 2; ++f) {
    GstBuffer* out = t.push_buffer(with_detection(scene_buffer("RGB", kW, kH, 60, 50), det[0], det[1], det[2], det[3]));
    ASSERT_NE(out, nullptr);
    auto mine = track_rois(out);
    ASSERT_EQ(mine.size(), 1u) << "frame " << f;
    first = mine[0].id;
    det[0] = mine[0].x, det[1] = mine[0].y, det[2] = mine[0].w, det[3] = mine[0].h;
    gst_buffer_unref(out);
  }
  gst_harness_set_src_caps_str(t.harness(), caps_for("RGB", 2 * kW, 2 * kH).c_str());
  GstBuffer* out = t.push_buffer(with_detection(scene_buffer("RGB", 2 * kW, 2 * kH, 120, 100), 2 * det[0], 2 * det[1], 2 * det[2], 2 * det[3]));
  ASSERT_NE(out, nullptr);
  auto mine = track_rois(out);
  EXPECT_EQ(ids_of(mine), std::set<int>{first}) << "the detection at the (scaled) tracked box started another track";
  gst_buffer_unref(out);
}

TEST(LoratTrack, AutoInitOffIgnoresDetections) {
  Track t(Props{});
  ASSERT_TRUE(t.ok());
  GstBuffer* in = with_detection(scene_buffer("RGB", kW, kH, 60, 50), 60, 50, 20, 16);
  GstBuffer* out = t.push_buffer(in);
  ASSERT_NE(out, nullptr);
  EXPECT_TRUE(track_rois(out).empty());
  gst_buffer_unref(out);
}

// ---------------------------------------------------------------------------------------------
// Resolution change mid-stream.

class TrackResize : public ::testing::TestWithParam<std::string> {};

TEST_P(TrackResize, KeepsTrackingInTheNewFrame) {
  const std::string format = GetParam();
  Track t(Props{{"init-box", kInitBox}}, format);
  ASSERT_TRUE(t.ok());
  int f = 0;
  for (; f < 3; ++f) {
    GstBuffer* out = t.push(format, sq_x(f), sq_y(f), f);
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(ids_of(all_rois(out)), std::set<int>{1});
    gst_buffer_unref(out);
  }
  gst_harness_set_src_caps_str(t.harness(), caps_for(format, 2 * kW, 2 * kH).c_str());
  for (int k = 0; k < 3; ++k, ++f) {
    SCOPED_TRACE("frame " + std::to_string(f) + " at 320x240");
    GstFlowReturn flow;
    GstBuffer* out = t.push(format, 2 * sq_x(f), 2 * sq_y(f), f, 2 * kW, 2 * kH, &flow);
    ASSERT_EQ(flow, GST_FLOW_OK);
    ASSERT_NE(out, nullptr);
    auto rois = all_rois(out);
    EXPECT_EQ(ids_of(rois), std::set<int>{1});
    expect_well_formed(rois, 2 * kW, 2 * kH);
    gst_buffer_unref(out);
  }
  GstCaps* out_caps = gst_pad_get_current_caps(t.harness()->sinkpad);
  ASSERT_NE(out_caps, nullptr);
  gint w = 0;
  gst_structure_get_int(gst_caps_get_structure(out_caps, 0), "width", &w);
  EXPECT_EQ(w, 2 * kW);
  gst_caps_unref(out_caps);
  t.expect_no_errors();
}

INSTANTIATE_TEST_SUITE_P(SomeFormats, TrackResize, ::testing::Values("RGB", "NV12", "GRAY8"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

// ---------------------------------------------------------------------------------------------
// State changes and the shared model cache.

TEST(LoratTrack, TwentyStateCyclesInAPipeline) {
  std::string desc = "videotestsrc num-buffers=3 ! video/x-raw,width=160,height=120 ! lorattrack name=t device=cpu model=\"" +
                     tiny_model_path() + "\" init-box=\"" + kInitBox + "\" ! fakesink";
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(desc.c_str(), &err);
  ASSERT_EQ(err, nullptr) << err->message;
  GstElement* track = gst_bin_get_by_name(GST_BIN(pipeline), "t");
  GstPad* src = gst_element_get_static_pad(track, "src");
  struct Count {
    int buffers = 0, with_meta = 0;
  } count;
  gst_pad_add_probe(
      src, GST_PAD_PROBE_TYPE_BUFFER,
      [](GstPad*, GstPadProbeInfo* info, gpointer data) -> GstPadProbeReturn {
        auto* c = static_cast<Count*>(data);
        c->buffers++;
        if (gst_buffer_get_meta(GST_PAD_PROBE_INFO_BUFFER(info), GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) c->with_meta++;
        return GST_PAD_PROBE_OK;
      },
      &count, nullptr);
  GstBus* bus = gst_element_get_bus(pipeline);
  for (int cycle = 0; cycle < 20; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    count = Count{};
    ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    GstMessage* msg = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                                 GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING));
    ASSERT_NE(msg, nullptr) << "no EOS";
    EXPECT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_EOS) << GST_MESSAGE_TYPE_NAME(msg);
    gst_message_unref(msg);
    ASSERT_EQ(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    EXPECT_EQ(count.buffers, 3);
    EXPECT_EQ(count.with_meta, 3);
    EXPECT_EQ(lorat_gst::live_shared_models(), 0);
    gst_bus_set_flushing(bus, TRUE);  // drop what is left of this run
    gst_bus_set_flushing(bus, FALSE);
  }
  gst_object_unref(bus);
  gst_object_unref(src);
  gst_object_unref(track);
  gst_object_unref(pipeline);
}

TEST(LoratTrack, ElementsShareOneModel) {
  EXPECT_EQ(lorat_gst::live_shared_models(), 0);
  {
    Track a(Props{{"init-box", kInitBox}});
    Track b(Props{{"init-box", "110,20,24,30"}}, "I420");
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(lorat_gst::live_shared_models(), 1);
    for (int f = 0; f < 2; ++f) {
      GstBuffer* oa = a.push("RGB", sq_x(f), sq_y(f), f);
      GstBuffer* ob = b.push("I420", sq_x(f), sq_y(f), f);
      ASSERT_NE(oa, nullptr);
      ASSERT_NE(ob, nullptr);
      EXPECT_EQ(all_rois(oa).size(), 1u);
      EXPECT_EQ(all_rois(ob).size(), 1u);
      gst_buffer_unref(oa);
      gst_buffer_unref(ob);
    }
    EXPECT_EQ(lorat_gst::live_shared_models(), 1);
    a.stop();
    EXPECT_EQ(lorat_gst::live_shared_models(), 1) << "b still runs on it";
  }
  EXPECT_EQ(lorat_gst::live_shared_models(), 0);
}

TEST(LoratTrack, RestartsAfterStop) {
  Track t(Props{{"init-box", kInitBox}});
  ASSERT_TRUE(t.ok());
  GstBuffer* out = t.push("RGB", sq_x(0), sq_y(0), 0);
  ASSERT_NE(out, nullptr);
  gst_buffer_unref(out);
  // Down to NULL and back: the init box applies again on the first frame of the new run.
  t.restart();
  out = t.push("RGB", 80, 60, 0);
  ASSERT_NE(out, nullptr);
  auto rois = all_rois(out);
  ASSERT_EQ(rois.size(), 1u);
  EXPECT_EQ(std::vector<guint>({rois[0].x, rois[0].y, rois[0].w, rois[0].h}), std::vector<guint>({60, 50, 20, 16}));
  EXPECT_DOUBLE_EQ(rois[0].score, 1.0);
  gst_buffer_unref(out);
  t.expect_no_errors();
}

// ---------------------------------------------------------------------------------------------
// Adapters while PLAYING.

// An adapter for the tiny model that changes its outputs noticeably.
std::string write_adapter(const std::string& name) {
  lorat::LoratModel m = lorat::load_bundle(tiny_model_path());
  m->add_lora(8, 1.0);
  {
    torch::NoGradGuard no_grad;
    torch::manual_seed(11);
    for (auto& [key, tensor] : m->lora_trainable_tensors())
      if (key.find(".lora.B") != std::string::npos)
        tensor.copy_(torch::randn_like(tensor) * 0.5);
      else if (key.rfind("head.", 0) == 0)  // the random head barely looks at its input: shake it too
        tensor.add_(torch::randn_like(tensor) * 0.5);
  }
  std::string path = lorat_test::temp_dir() + "/" + name;
  lorat::save_adapter(path, *m);
  return path;
}

TEST(LoratTrackAdapter, SwapWhilePlayingLosesNoBufferAndKeepsIds) {
  const std::string adapter = write_adapter("adapter-a.safetensors");
  // Two elements on the same frames: `ref` keeps the base model, `t` gets the adapter.
  Track ref(Props{{"init-box", std::string(kInitBox) + ";110,20,24,30"}});
  Track t(Props{{"init-box", std::string(kInitBox) + ";110,20,24,30"}});
  ASSERT_TRUE(ref.ok() && t.ok());
  int f = 0, pushed = 0, pulled = 0;
  auto step = [&](std::vector<Roi>& a, std::vector<Roi>& b) {
    GstBuffer* oa = ref.push("RGB", sq_x(f % 30), sq_y(f % 30), f);
    GstBuffer* ob = t.push("RGB", sq_x(f % 30), sq_y(f % 30), f);
    ++pushed;
    ++f;
    if (ob) ++pulled;
    a = oa ? all_rois(oa) : std::vector<Roi>{};
    b = ob ? all_rois(ob) : std::vector<Roi>{};
    if (oa) gst_buffer_unref(oa);
    if (ob) gst_buffer_unref(ob);
  };
  auto differs = [](const std::vector<Roi>& a, const std::vector<Roi>& b) {
    for (const auto& r : a)
      if (const Roi* s = find_id(b, r.id))
        if (std::abs(r.score - s->score) > 1e-5) return true;
    return false;
  };
  std::vector<Roi> a, b;
  for (int k = 0; k < 3; ++k) {
    step(a, b);
    ASSERT_EQ(ids_of(b), (std::set<int>{1, 2}));
    EXPECT_FALSE(differs(a, b)) << "same model, same frames: same scores (frame " << f - 1 << ")";
  }
  g_object_set(t.el, "adapter", adapter.c_str(), nullptr);
  bool swapped = false;
  int after = 0;
  auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2) && after < 3) {
    step(a, b);
    EXPECT_EQ(ids_of(b), (std::set<int>{1, 2})) << "frame " << f - 1;
    expect_well_formed(b, kW, kH);
    swapped = swapped || differs(a, b);
    if (swapped) ++after;
  }
  EXPECT_TRUE(swapped) << "the adapter never took effect (" << f << " frames)";
  EXPECT_EQ(pushed, pulled);
  EXPECT_EQ(gst_harness_buffers_in_queue(t.harness()), 0u);
  char* value = nullptr;
  g_object_get(t.el, "adapter", &value, nullptr);
  EXPECT_STREQ(value, adapter.c_str());
  g_free(value);
  t.expect_no_errors();
}

TEST(LoratTrackAdapter, BadAdapterWhilePlayingWarnsAndTheStreamGoesOn) {
  Track t(Props{{"init-box", kInitBox}});
  ASSERT_TRUE(t.ok());
  int f = 0;
  GstBuffer* out = t.push("RGB", sq_x(f), sq_y(f), f);
  ASSERT_NE(out, nullptr);
  gst_buffer_unref(out);
  const std::string bad = lorat_test::temp_dir() + "/no-such-adapter.safetensors";
  g_object_set(t.el, "adapter", bad.c_str(), nullptr);
  std::string warning;
  auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5) && (warning.empty() || f < 5)) {
    ++f;
    GstFlowReturn flow;
    out = t.push("RGB", sq_x(f), sq_y(f), f, kW, kH, &flow);
    ASSERT_EQ(flow, GST_FLOW_OK);
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(ids_of(all_rois(out)), std::set<int>{1});
    gst_buffer_unref(out);
    if (warning.empty()) warning = pop_text(t.bus, GST_MESSAGE_WARNING, 20 * GST_MSECOND);
  }
  EXPECT_NE(warning, "") << "no WARNING for a missing adapter";
  EXPECT_NE(warning.find(bad), std::string::npos) << warning;
  EXPECT_EQ(pop_text(t.bus, GST_MESSAGE_ERROR), "");
}

// Two adapter changes in quick succession (a user flipping between adapters) must not hang the
// element. Run in a child process with an alarm so that a deadlock fails the test instead of
// hanging the suite.
TEST(LoratTrackAdapterDeathTest, TwoQuickSwapsDoNotHang) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        alarm(10);
        const std::string a1 = write_adapter("adapter-1.safetensors");
        const std::string a2 = write_adapter("adapter-2.safetensors");
        Track t(Props{{"init-box", kInitBox}});
        GstBuffer* out = t.push("RGB", sq_x(0), sq_y(0), 0);
        if (out) gst_buffer_unref(out);
        g_object_set(t.el, "adapter", a1.c_str(), nullptr);
        g_object_set(t.el, "adapter", a2.c_str(), nullptr);
        for (int f = 1; f < 5; ++f) {
          out = t.push("RGB", sq_x(f), sq_y(f), f);
          if (!out) std::_Exit(3);
          gst_buffer_unref(out);
        }
        t.stop();
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
