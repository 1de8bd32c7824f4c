// lorat synth: training sequences from imagery Debian ships, as GOT-10k folders: DIR/synth
// (synthetic scenes with exact ground truth) and DIR/motion (moving blobs of real videos).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "args.h"
#include "commands.h"
#include "lorat/error.h"
#include "synth_motion.h"
#include "synth_scene.h"

namespace lorat_cli {

namespace fs = std::filesystem;
using lorat::Error;

namespace {

const char* kInstallHint = "install the imagery with: apt-get install openclipart-png opencv-doc python3-skimage";

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<fs::path> files_under(const std::vector<std::string>& dirs, const std::vector<std::string>& extensions) {
  std::vector<fs::path> out;
  for (const auto& d : dirs) {
    if (!fs::is_directory(d)) continue;
    for (const auto& e : fs::recursive_directory_iterator(d)) {
      std::string ext = e.path().extension().string();
      for (char& c : ext) c = char(std::tolower(c));
      if (e.is_regular_file() && std::find(extensions.begin(), extensions.end(), ext) != extensions.end()) out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Runs work(i) for i in [0, n) on `threads` threads.
void parallel_for(int n, int threads, const std::function<void(int)>& work) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (int i; (i = next++) < n;) work(i);
    });
  for (auto& t : pool) t.join();
}

// Clip-art with alpha, trimmed to its opaque part and at most 128 px on a side.
cv::Mat load_clipart(const fs::path& file) {
  cv::Mat img = cv::imread(file.string(), cv::IMREAD_UNCHANGED);
  if (img.empty() || img.type() != CV_8UC4) return {};
  cv::Mat alpha;
  cv::extractChannel(img, alpha, 3);
  cv::Mat points;
  cv::findNonZero(alpha > 127, points);
  if (points.empty()) return {};
  cv::Rect box = cv::boundingRect(points);
  if (box.width < 8 || box.height < 8 || cv::countNonZero(alpha(box) > 127) < 0.2 * box.area()) return {};
  cv::Mat trimmed = img(box);
  double s = 128.0 / std::max(box.width, box.height);
  if (s < 1) cv::resize(trimmed, trimmed, {}, s, s, cv::INTER_AREA);
  return trimmed.clone();
}

// Every frame of a video, resized to `width` pixels wide.
std::vector<cv::Mat> read_video(const fs::path& file, int width) {
  cv::VideoCapture cap(file.string());
  std::vector<cv::Mat> frames;
  for (cv::Mat f; cap.read(f);) {
    cv::Mat small;
    cv::resize(f, small, {width, int(std::lround(double(f.rows) * width / f.cols))}, 0, 0, cv::INTER_AREA);
    frames.push_back(small);
  }
  return frames;
}

// Writes one sequence folder (images, groundtruth.txt, absence.label) under a temporary name and
// renames it into place, so an interrupted run leaves no half-written sequence behind.
void write_sequence(const fs::path& dir, const std::vector<cv::Mat>& images, const std::vector<cv::Rect2d>& boxes,
                    const std::vector<bool>& absent) {
  fs::path tmp = dir.string() + ".partial";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  std::ofstream gt(tmp / "groundtruth.txt"), abs(tmp / "absence.label");
  for (size_t i = 0; i < images.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%08zu.jpg", i + 1);
    if (!cv::imwrite((tmp / name).string(), images[i], {cv::IMWRITE_JPEG_QUALITY, 92}))
      throw Error("cannot write " + (tmp / name).string());
    char line[96];
    std::snprintf(line, sizeof line, "%.1f,%.1f,%.1f,%.1f\n", boxes[i].x, boxes[i].y, boxes[i].width, boxes[i].height);
    gt << line;
    abs << (absent[i] ? 1 : 0) << "\n";
  }
  gt.close(), abs.close();
  if (!gt || !abs) throw Error("cannot write " + tmp.string() + " (disk full?)");
  fs::rename(tmp, dir);
}

void write_list(const fs::path& root) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory() && e.path().extension() != ".partial") names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  std::ofstream list(root / "list.txt");
  for (const auto& n : names) list << n << "\n";
}

}  // namespace

int cmd_synth(int argc, char** argv) {
  Args args(argc, argv, {"output", "sequences", "frames", "seed", "size", "clipart", "photos", "videos", "motion-videos", "cutout-share", "max-objects", "threads"}, {});
  const fs::path out = args.require("output");
  const int sequences = args.get_int("sequences", 2000, 0, 10000000);
  const int frames = args.get_int("frames", 24, 2, 10000);
  const uint64_t seed = uint64_t(args.get_int("seed", 1, 0, 1 << 30));
  const int max_objects = args.get_int("max-objects", 2000, 1, 1000000);
  const double cutout_share = args.get_double("cutout-share", 0);
  if (cutout_share < 0 || cutout_share > 1) throw Error("--cutout-share must be between 0 and 1, not " + args.get("cutout-share"));
  const int threads = args.get_int("threads", int(std::max(1u, std::thread::hardware_concurrency())), 1, 256);
  cv::Size canvas(320, 240);
  if (args.has("size")) {
    int w = 0, h = 0;
    char x = 0, rest = 0;
    if (std::sscanf(args.get("size").c_str(), "%d%c%d%c", &w, &x, &h, &rest) != 3 || x != 'x' || w < 64 || h < 64 || w > 4096 || h > 4096)
      throw Error("--size must be WIDTHxHEIGHT between 64 and 4096, not '" + args.get("size") + "'");
    canvas = {w, h};
  }
  const std::string opencv_data = "/usr/share/doc/opencv-doc/examples/data";
  auto clipart_dirs = split_list(args.get("clipart", "/usr/share/openclipart/png"));
  auto photo_dirs = split_list(args.get("photos", opencv_data + ",/usr/lib/python3/dist-packages/skimage/data"));
  std::vector<std::string> video_files = split_list(args.get("videos", opencv_data + "/vtest.avi," + opencv_data + "/Megamind.avi," + opencv_data + "/tree.avi"));
  // Moving blobs only make sense with a fixed camera: of the defaults, vtest.avi.
  std::vector<std::string> motion_files = split_list(args.get("motion-videos", opencv_data + "/vtest.avi"));
  for (const auto* list : {&video_files, &motion_files})
    for (const auto& v : *list)
      if (!fs::is_regular_file(v)) throw Error("video '" + v + "' not found; " + kInstallHint);
  auto t0 = std::chrono::steady_clock::now();

  SynthAssets assets;
  std::vector<fs::path> clipart = files_under(clipart_dirs, {".png"});
  std::shuffle(clipart.begin(), clipart.end(), std::mt19937_64(seed));
  if (clipart.size() > size_t(max_objects)) clipart.resize(size_t(max_objects));
  std::vector<cv::Mat> loaded(clipart.size());
  parallel_for(int(clipart.size()), threads, [&](int i) { loaded[size_t(i)] = load_clipart(clipart[size_t(i)]); });
  for (auto& m : loaded)
    if (!m.empty()) assets.objects.push_back(m);
  for (const fs::path& p : files_under(photo_dirs, {".jpg", ".jpeg", ".png"})) {
    cv::Mat img = cv::imread(p.string(), cv::IMREAD_COLOR);
    if (!img.empty() && img.cols >= 200 && img.rows >= 200) assets.photos.push_back(img);
  }
  for (const auto& v : video_files) {
    assets.video_frames.push_back(read_video(v, 480));
    if (assets.video_frames.back().size() < 2) throw Error("video '" + v + "' has no frames OpenCV can read");
  }
  if (cutout_share > 0) {
    // Cut at the video's own resolution (people in a street scene are small), but at most 960 px
    // wide: every frame is held in memory.
    for (const auto& v : motion_files) {
      const int native = int(cv::VideoCapture(v).get(cv::CAP_PROP_FRAME_WIDTH));
      const int width = native > 0 ? std::min(960, native) : 960;
      for (cv::Mat& c : motion_cutouts(read_video(v, width), 8, 40)) assets.cutouts.push_back(std::move(c));
    }
    if (assets.cutouts.empty()) throw Error("--cutout-share: no moving object at least 40 px tall in the --motion-videos");
    assets.cutout_share = cutout_share;
  }
  if (assets.objects.empty() && assets.photos.empty())
    throw Error("no clip-art or photos found (looked in " + args.get("clipart", clipart_dirs.empty() ? "" : clipart_dirs[0]) + " and the photo folders); " + kInstallHint);
  std::fprintf(stderr, "assets: %zu clip-art objects, %zu photos, %zu videos, %zu cut-outs (%.0f s)\n", assets.objects.size(),
               assets.photos.size(), assets.video_frames.size(), assets.cutouts.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  fs::create_directories(out / "synth");
  std::atomic<int> written{0};
  std::mutex error_lock;
  std::string first_error;
  parallel_for(sequences, threads, [&](int i) {
    char name[32];
    std::snprintf(name, sizeof name, "%07d", i + 1);
    fs::path dir = out / "synth" / name;
    if (fs::exists(dir / "groundtruth.txt")) return;  // from an earlier, interrupted run
    try {
      std::vector<SynthFrame> seq = synth_sequence(assets, seed, uint64_t(i), frames, canvas);
      std::vector<cv::Mat> images;
      std::vector<cv::Rect2d> boxes;
      std::vector<bool> absent;
      for (auto& f : seq) images.push_back(f.image), boxes.push_back(f.box), absent.push_back(f.absent);
      write_sequence(dir, images, boxes, absent);
      ++written;
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> g(error_lock);
      if (first_error.empty()) first_error = e.what();
    }
  });
  if (!first_error.empty()) throw Error(first_error);
  write_list(out / "synth");

  fs::create_directories(out / "motion");
  int tracks = 0;
  for (const auto& file : motion_files) {
    size_t known = size_t(std::find(video_files.begin(), video_files.end(), file) - video_files.begin());
    const std::vector<cv::Mat> video = known < video_files.size() ? assets.video_frames[known] : read_video(file, 480);
    std::vector<MotionTrack> found = find_motion_tracks(video, 20, 80);
    for (size_t k = 0; k < found.size(); ++k) {
      char name[64];
      std::snprintf(name, sizeof name, "%s-%04zu", fs::path(file).stem().c_str(), k + 1);
      fs::path dir = out / "motion" / name;
      ++tracks;
      if (fs::exists(dir / "groundtruth.txt")) continue;
      std::vector<cv::Mat> images;
      std::vector<cv::Rect2d> boxes;
      for (size_t j = 0; j < found[k].boxes.size(); ++j) {
        images.push_back(video[size_t(found[k].first_frame) + j]);
        boxes.push_back(found[k].boxes[j]);
      }
      write_sequence(dir, images, boxes, std::vector<bool>(images.size(), false));
    }
  }
  write_list(out / "motion");

  std::printf("wrote %d synthetic sequences (%d new, %d frames each, %dx%d) to %s and %d motion tracks to %s in %.0f s\n"
              "train with: lorat train got10k:%s got10k:%s ...\n",
              sequences, written.load(), frames, canvas.width, canvas.height, (out / "synth").c_str(), tracks, (out / "motion").c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), (out / "synth").c_str(), (out / "motion").c_str());
  return 0;
}

}  // namespace lorat_cli
