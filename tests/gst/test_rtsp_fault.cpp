// Live faults: the RTSP server (lorat-rtsp-serve) goes away in the middle of a tracked stream and
// comes back on the same port. What the pipeline does is asserted as README.md documents it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/gstvideometa.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include "gst_test_util.h"
#include "model_cache.h"
#include "test_util.h"

extern char** environ;

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// A TCP port on 127.0.0.1 that nothing listens on right now.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

bool accepts_connections(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(uint16_t(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

std::set<std::string> server_temp_dirs() {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/tmp", ec))
    if (e.path().filename().string().rfind("lorat-rtsp-", 0) == 0) out.insert(e.path().string());
  return out;
}

// lorat-rtsp-serve as a child process; killed (and its frame folder, which a SIGKILLed server
// leaves in /tmp, removed) when it goes out of scope.
class Server {
 public:
  Server(const std::string& binary, const std::string& clip, int port, const std::string& log) {
    before_ = server_temp_dirs();
    std::string port_s = std::to_string(port);
    const char* argv[] = {binary.c_str(), clip.c_str(), "--port", port_s.c_str(), nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, const_cast<char* const*>(argv), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Server() { kill_now(SIGKILL); }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Waits until the port accepts connections (the server first decodes the clip); false when the
  // server died or did not come up in time.
  bool wait_ready(int port, double timeout_s) {
    auto t0 = Clock::now();
    while (seconds_since(t0) < timeout_s) {
      if (pid_ <= 0 || waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      if (accepts_connections(port)) {
        // The server made its frame folder (mkdtemp under /tmp) before it listened. Ours is the
        // only new one, unless another server started meanwhile (tests running in parallel):
        // then none is removed rather than another server's.
        std::set<std::string> fresh;
        for (const auto& d : server_temp_dirs())
          if (!before_.count(d)) fresh.insert(d);
        if (fresh.size() == 1) frames_dir_ = *fresh.begin();
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // Sends `sig`; reap() then waits for the process.
  void signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }

  // Waits for the process to end and removes its frame folder (a SIGKILLed server leaves it).
  void reap() {
    if (pid_ <= 0) return;
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    if (!frames_dir_.empty()) {
      std::error_code ec;
      fs::remove_all(frames_dir_, ec);
    }
  }

  void kill_now(int sig) {
    signal(sig);
    reap();
  }

 private:
  pid_t pid_ = -1;
  std::set<std::string> before_;  // /tmp/lorat-rtsp-* before the server started
  std::string frames_dir_;         // the server's, when known
};

struct Pulled {
  int buffers = 0, with_track = 0;
  double first_x = -1, first_y = -1, first_w = -1, first_h = -1;  // track 1 on the first buffer that had it
};

// Pulls samples from `sink` until `want` buffers carried track 1, the sink is at EOS, or
// `timeout_s` passed.
Pulled pull_tracked(GstElement* sink, int want, double timeout_s) {
  Pulled p;
  auto t0 = Clock::now();
  while (p.with_track < want && seconds_since(t0) < timeout_s) {
    GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 100 * GST_MSECOND);
    if (!sample) {
      if (gst_app_sink_is_eos(GST_APP_SINK(sink))) break;
      continue;
    }
    ++p.buffers;
    if (auto* roi = gst_buffer_get_video_region_of_interest_meta_id(gst_sample_get_buffer(sample), 1)) {
      if (p.with_track++ == 0) {
        GstStructure* s = gst_video_region_of_interest_meta_get_param(roi, "lorat");
        gst_structure_get_double(s, "x", &p.first_x);
        gst_structure_get_double(s, "y", &p.first_y);
        gst_structure_get_double(s, "w", &p.first_w);
        gst_structure_get_double(s, "h", &p.first_h);
      }
    }
    gst_sample_unref(sample);
  }
  return p;
}

// `protocols`: "tcp" (RTP interleaved in the RTSP connection) or "" (rtspsrc's default, UDP).
GstElement* make_pipeline(int port, const std::string& model, const std::string& protocols) {
  std::string desc = "rtspsrc name=src location=rtsp://127.0.0.1:" + std::to_string(port) + "/clip latency=100" +
                     (protocols.empty() ? "" : " protocols=" + protocols) + " ! decodebin ! videoconvert ! lorattrack model=\"" + model +
                     "\" init-box=291,124,150,140 ! appsink name=sink sync=false";
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(desc.c_str(), &err);
  EXPECT_EQ(err, nullptr) << (err ? err->message : "");
  if (err) g_error_free(err);
  return pipeline;
}

std::string describe(GstMessage* msg) {
  std::string out = std::string(GST_MESSAGE_TYPE_NAME(msg)) + " from " + GST_OBJECT_NAME(GST_MESSAGE_SRC(msg));
  GError* e = nullptr;
  gchar* dbg = nullptr;
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) gst_message_parse_error(msg, &e, &dbg);
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING) gst_message_parse_warning(msg, &e, &dbg);
  if (e) out += std::string(": ") + e->message + " [" + (dbg ? dbg : "") + "]";
  if (e) g_error_free(e);
  g_free(dbg);
  return out;
}

// What the bus said after the server was killed: the first EOS, ERROR and WARNING (seconds after
// the kill, -1 when none) and whether the first ERROR/WARNING came from rtspsrc in the
// GST_RESOURCE_ERROR domain (READ: the connection is gone; OPEN_READ_WRITE: it could not be made
// again).
struct Outcome {
  double eos_s = -1, error_s = -1, warning_s = -1;
  bool error_is_resource = false, warning_is_read = false;
  std::string error, warning;
  int buffers = 0;  // buffers that still came out
};

// From rtspsrc (named "src"), in GST_RESOURCE_ERROR, with `code` (or any code when -1).
bool from_rtspsrc(GstMessage* msg, int code) {
  GError* e = nullptr;
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) gst_message_parse_error(msg, &e, nullptr);
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING) gst_message_parse_warning(msg, &e, nullptr);
  bool ok = e && e->domain == GST_RESOURCE_ERROR && (code < 0 || e->code == code) &&
            std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(msg))) == "src";
  if (e) g_error_free(e);
  return ok;
}

// Messages from before the kill are not counted as its consequences (an ERROR fails the test).
void drain_before_kill(GstBus* bus) {
  while (GstMessage* msg = gst_bus_pop_filtered(bus, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING))) {
    std::printf("  before the kill: %s\n", describe(msg).c_str());
    EXPECT_NE(GST_MESSAGE_TYPE(msg), GST_MESSAGE_ERROR) << describe(msg);
    gst_message_unref(msg);
  }
}

// Pulls and watches the bus until EOS or an ERROR (or `timeout_s`).
Outcome watch_until_end(GstElement* sink, GstBus* bus, Clock::time_point killed, double timeout_s) {
  Outcome o;
  while (seconds_since(killed) < timeout_s && o.eos_s < 0 && o.error_s < 0) {
    if (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_MSECOND)) {
      ++o.buffers;
      gst_sample_unref(s);
    }
    while (GstMessage* msg = gst_bus_pop_filtered(bus, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING))) {
      double t = seconds_since(killed);
      std::printf("  %.3f s after the kill: %s\n", t, describe(msg).c_str());
      switch (GST_MESSAGE_TYPE(msg)) {
        case GST_MESSAGE_EOS:
          if (o.eos_s < 0) o.eos_s = t;
          break;
        case GST_MESSAGE_ERROR:
          if (o.error_s < 0) o.error_s = t, o.error = describe(msg), o.error_is_resource = from_rtspsrc(msg, -1);
          break;
        default:
          if (o.warning_s < 0) o.warning_s = t, o.warning = describe(msg), o.warning_is_read = from_rtspsrc(msg, GST_RESOURCE_ERROR_READ);
      }
      gst_message_unref(msg);
    }
  }
  return o;
}

struct Env {
  std::string serve, clip, model, log;
  int port = -1;
};

// Skips (returns false) without lorat-rtsp-serve.
bool setup(Env& env) {
  const char* serve = std::getenv("LORAT_RTSP_SERVE");
  const char* clip = std::getenv("LORAT_RTSP_CLIP");
  if (!serve || !clip) return false;
  env.serve = serve;
  env.clip = clip;
  env.model = lorat_gst_test::tiny_model_path();
  env.log = lorat_test::temp_dir() + "/server.log";
  env.port = free_port();
  return true;
}

}  // namespace

// RTP over the RTSP TCP connection: the killed server closes it, rtspsrc posts a WARNING
// ("Could not read from resource", debug "The server closed the connection.") and the pipeline
// ends with EOS at once; it does not reconnect when the server is back, and a new pipeline to it
// tracks again from the init-box (track 1). Nothing stays loaded.
TEST(RtspFault, TcpServerKilledEndsWithEosAndANewPipelineTracksAgain) {
  Env env;
  if (!setup(env)) GTEST_SKIP() << "LORAT_RTSP_SERVE / LORAT_RTSP_CLIP not set (built without gst-rtsp-server)";
  ASSERT_GT(env.port, 0);
  auto server = std::make_unique<Server>(env.serve, env.clip, env.port, env.log);
  ASSERT_TRUE(server->wait_ready(env.port, 20)) << "lorat-rtsp-serve did not come up; see " << env.log;

  GstElement* pipeline = make_pipeline(env.port, env.model, "tcp");
  ASSERT_NE(pipeline, nullptr);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  Pulled before = pull_tracked(sink, 20, 15);
  EXPECT_GE(before.with_track, 20) << before.buffers << " buffers, " << before.with_track << " with track 1";
  EXPECT_NEAR(before.first_x, 291, 1e-9);  // the first frame reports the init-box
  EXPECT_NEAR(before.first_w, 150, 1e-9);

  drain_before_kill(bus);
  auto killed = Clock::now();
  server->signal(SIGKILL);
  Outcome o = watch_until_end(sink, bus, killed, 10);
  server->reap();
  std::printf("TCP: %d tracked buffers before the kill, %d after; WARNING at %.3f s, EOS at %.3f s, ERROR at %.3f s\n", before.with_track,
              o.buffers, o.warning_s, o.eos_s, o.error_s);
  EXPECT_GE(o.eos_s, 0) << "no EOS within 10 s of the kill";
  EXPECT_LT(o.eos_s, 3);
  EXPECT_LT(o.error_s, 0) << o.error;
  EXPECT_GE(o.warning_s, 0);
  EXPECT_LE(o.warning_s, o.eos_s);
  EXPECT_TRUE(o.warning_is_read) << o.warning;
  EXPECT_NE(o.warning.find("closed the connection"), std::string::npos) << o.warning;

  // The server comes back on the same port; the ended pipeline stays ended (rtspsrc does not
  // reconnect after EOS).
  server = std::make_unique<Server>(env.serve, env.clip, env.port, env.log);
  ASSERT_TRUE(server->wait_ready(env.port, 20)) << "lorat-rtsp-serve did not come back; see " << env.log;
  std::this_thread::sleep_for(std::chrono::seconds(2));
  GstSample* late = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 0);
  EXPECT_EQ(late, nullptr) << "the ended pipeline delivered a buffer after the server came back";
  if (late) gst_sample_unref(late);
  EXPECT_TRUE(gst_app_sink_is_eos(GST_APP_SINK(sink)));
  // and no ERROR came after the EOS either.
  while (GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    ADD_FAILURE() << describe(msg);
    gst_message_unref(msg);
  }

  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  EXPECT_EQ(lorat_gst::live_shared_models(), 0);

  // A new pipeline to the restarted server tracks again, from track 1 and the init-box.
  GstElement* again = make_pipeline(env.port, env.model, "tcp");
  ASSERT_NE(again, nullptr);
  GstElement* sink2 = gst_bin_get_by_name(GST_BIN(again), "sink");
  auto t_again = Clock::now();
  gst_element_set_state(again, GST_STATE_PLAYING);
  Pulled after = pull_tracked(sink2, 20, 15);
  std::printf("new pipeline after the restart: %d buffers, %d with track 1 in %.2f s\n", after.buffers, after.with_track, seconds_since(t_again));
  EXPECT_GE(after.with_track, 20);
  EXPECT_NEAR(after.first_x, 291, 1e-9);
  EXPECT_NEAR(after.first_y, 124, 1e-9);
  EXPECT_NEAR(after.first_h, 140, 1e-9);
  gst_element_set_state(again, GST_STATE_NULL);
  gst_object_unref(sink2);
  gst_object_unref(again);
  EXPECT_EQ(lorat_gst::live_shared_models(), 0);
}

// rtspsrc's default transport (RTP over UDP, RTSP over TCP): the killed server ends the pipeline
// with an ERROR from rtspsrc at once: "Could not read from resource." (GST_RESOURCE_ERROR_READ) or,
// when rtspsrc first tries to open the connection again, "Could not open resource for reading and
// writing." (GST_RESOURCE_ERROR_OPEN_READ_WRITE); which one is a race.
TEST(RtspFault, UdpServerKilledEndsWithAnError) {
  Env env;
  if (!setup(env)) GTEST_SKIP() << "LORAT_RTSP_SERVE / LORAT_RTSP_CLIP not set (built without gst-rtsp-server)";
  ASSERT_GT(env.port, 0);
  auto server = std::make_unique<Server>(env.serve, env.clip, env.port, env.log);
  ASSERT_TRUE(server->wait_ready(env.port, 20)) << "lorat-rtsp-serve did not come up; see " << env.log;

  GstElement* pipeline = make_pipeline(env.port, env.model, "");
  ASSERT_NE(pipeline, nullptr);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  Pulled before = pull_tracked(sink, 20, 15);
  EXPECT_GE(before.with_track, 20) << before.buffers << " buffers, " << before.with_track << " with track 1";

  drain_before_kill(bus);
  auto killed = Clock::now();
  server->signal(SIGKILL);
  Outcome o = watch_until_end(sink, bus, killed, 10);
  server->reap();
  std::printf("UDP: %d tracked buffers before the kill, %d after; WARNING at %.3f s, ERROR at %.3f s, EOS at %.3f s\n", before.with_track,
              o.buffers, o.warning_s, o.error_s, o.eos_s);
  EXPECT_GE(o.error_s, 0) << "no ERROR within 10 s of the kill";
  EXPECT_LT(o.error_s, 3);
  EXPECT_TRUE(o.error_is_resource) << o.error;

  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  EXPECT_EQ(lorat_gst::live_shared_models(), 0);
}
