// A real clip through a real pipeline: the boxes lorattrack attaches are the boxes `lorat track`
// writes for the same frames (videos/bag.avi, started from sequences/bag's first ground truth).
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/gstvideometa.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "gst_test_util.h"
#include "lorat/sequence.h"
#include "test_util.h"

namespace {

struct Row {
  double x, y, w, h, score;
};

std::vector<Row> read_cli_csv(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<Row> rows;
  while (std::getline(in, line)) {
    Row r{};
    int frame = 0;
    if (std::sscanf(line.c_str(), "%d,%lf,%lf,%lf,%lf,%lf", &frame, &r.x, &r.y, &r.w, &r.h, &r.score) == 6) rows.push_back(r);
  }
  return rows;
}

std::vector<Row> run_pipeline(const std::string& video, const std::string& model, const std::string& init) {
  std::string desc = "filesrc location=\"" + video + "\" ! decodebin ! videoconvert ! video/x-raw,format=BGR ! lorattrack model=\"" + model +
                     "\" init-box=\"" + init + "\" ! appsink name=sink sync=false";
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(desc.c_str(), &err);
  EXPECT_EQ(err, nullptr) << (err ? err->message : "");
  if (!pipeline) return {};
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  std::vector<Row> rows;
  while (GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    GstBuffer* buf = gst_sample_get_buffer(sample);
    auto* roi = gst_buffer_get_video_region_of_interest_meta_id(buf, 1);
    Row r{-1, -1, -1, -1, -1};
    if (roi) {
      GstStructure* s = gst_video_region_of_interest_meta_get_param(roi, "lorat");
      gst_structure_get_double(s, "x", &r.x);
      gst_structure_get_double(s, "y", &r.y);
      gst_structure_get_double(s, "w", &r.w);
      gst_structure_get_double(s, "h", &r.h);
      gst_structure_get_double(s, "score", &r.score);
    }
    rows.push_back(r);
    gst_sample_unref(sample);
  }
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  if (msg) {
    GError* e = nullptr;
    gst_message_parse_error(msg, &e, nullptr);
    ADD_FAILURE() << "pipeline error: " << e->message;
    g_error_free(e);
    gst_message_unref(msg);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return rows;
}

}  // namespace

TEST(Pipeline, BagClipGivesTheBoxesOfLoratTrack) {
  LORAT_REQUIRE_SHARED(video, "videos/bag.avi");
  LORAT_REQUIRE_SHARED(seq_dir, "sequences/bag");
  const char* cli = std::getenv("LORAT_CLI");
  ASSERT_NE(cli, nullptr) << "LORAT_CLI must point at the lorat binary";
  std::string model = lorat_gst_test::tiny_model_path();
  lorat::Sequence seq = lorat::load_sequence(seq_dir, true);
  const lorat::Box& b = seq.groundtruth.at(0);
  char init[128];
  std::snprintf(init, sizeof init, "%.17g,%.17g,%.17g,%.17g", b.x, b.y, b.w, b.h);

  std::string csv = lorat_test::temp_dir() + "/bag_cli.csv";
  std::string cmd = std::string(cli) + " track \"" + video + "\" --model \"" + model + "\" --init " + init + " --output \"" + csv + "\" 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::vector<Row> expected = read_cli_csv(csv);
  std::vector<Row> got = run_pipeline(video, model, init);
  ASSERT_EQ(expected.size(), seq.frames.size());
  ASSERT_EQ(got.size(), expected.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    // The CLI writes 4 decimals.
    for (auto [a, e] : {std::pair{got[i].x, expected[i].x}, {got[i].y, expected[i].y}, {got[i].w, expected[i].w}, {got[i].h, expected[i].h}})
      worst = std::max(worst, std::abs(a - e));
    EXPECT_NEAR(got[i].score, expected[i].score, 1e-5) << "frame " << i;
  }
  EXPECT_LT(worst, 1e-4);
  std::printf("bag.avi: %zu frames, worst box difference element vs lorat track %.2e px\n", got.size(), worst);
}

namespace {

// Runs videotestsrc (live, 30 fps) through lorattrack in `mode` for `buffers` frames; returns the
// minimum latency the pipeline reports and the lorat params of the last buffer.
struct LiveRun {
  GstClockTime min_latency = 0;
  int buffers = 0, fresh = 0, with_box = 0;
};

LiveRun live_run(const std::string& mode, int buffers) {
  std::string desc = "videotestsrc is-live=true num-buffers=" + std::to_string(buffers) +
                     " ! video/x-raw,width=160,height=120,framerate=30/1 ! lorattrack name=t model=\"" + lorat_gst_test::tiny_model_path() +
                     "\" init-box=60,40,30,30 mode=" + mode + " ! appsink name=sink sync=false";
  GstElement* pipeline = gst_parse_launch(desc.c_str(), nullptr);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  LiveRun run;
  while (GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    GstBuffer* buf = gst_sample_get_buffer(sample);
    ++run.buffers;
    if (auto* roi = gst_buffer_get_video_region_of_interest_meta_id(buf, 1)) {
      ++run.with_box;
      gboolean fresh = FALSE;
      gst_structure_get_boolean(gst_video_region_of_interest_meta_get_param(roi, "lorat"), "fresh", &fresh);
      run.fresh += fresh;
    }
    gst_sample_unref(sample);
    if (run.buffers == buffers / 2) {
      GstQuery* q = gst_query_new_latency();
      GstPad* pad = gst_element_get_static_pad(sink, "sink");
      if (gst_pad_peer_query(pad, q)) gst_query_parse_latency(q, nullptr, &run.min_latency, nullptr);
      gst_object_unref(pad);
      gst_query_unref(q);
    }
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return run;
}

}  // namespace

TEST(Pipeline, LatestModeNeverHoldsAFrameAndSaysSo) {
  LiveRun every = live_run("every-frame", 20), latest = live_run("latest", 20);
  EXPECT_EQ(every.buffers, 20);
  EXPECT_EQ(latest.buffers, 20);
  // every-frame: each buffer carries boxes computed on it, and the latency includes the model.
  EXPECT_EQ(every.fresh, 20);
  // latest: boxes come from an earlier frame (fresh=false); the model's time is not in the latency.
  EXPECT_EQ(latest.fresh, 0);
  EXPECT_GT(latest.with_box, 0);
  EXPECT_GT(every.min_latency, latest.min_latency);
}
