// lorat train: fine-tune a LoRA adapter (or, with --full, every weight) on tracking datasets.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ATen/Parallel.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "args.h"
#include "commands.h"
#include "lorat/checkpoint.h"
#include "lorat/datasets.h"
#include "lorat/error.h"
#include "lorat/distributed.h"
#include "lorat/trainer.h"
#include "model_loading.h"
#include "plot.h"

namespace lorat_cli {

namespace fs = std::filesystem;
using lorat::Error;

namespace {

std::string hms(double s) {
  char buf[32];
  int t = int(s);
  std::snprintf(buf, sizeof buf, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
  return buf;
}

// A TCP port nobody listens on now, for the process group's store.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 29500;
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  if (fd >= 0) close(fd);
  return port;
}

// --nproc N on one host: N copies of this command as ranks 0..N-1 of one group on 127.0.0.1, as
// torchrun would start them. Returns the first non-zero exit status.
int launch_processes(int nproc, int argc, char** argv) {
  std::string port = std::to_string(free_port());
  std::vector<pid_t> children;
  for (int rank = 0; rank < nproc; ++rank) {
    pid_t pid = fork();
    if (pid < 0) throw Error("cannot start training process " + std::to_string(rank));
    if (pid == 0) {
      setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", port.c_str(), 1);
      std::vector<char*> args = {const_cast<char*>("lorat"), const_cast<char*>("train")};
      for (int i = 0; i < argc; ++i) args.push_back(argv[i]);
      args.push_back(nullptr);
      execv("/proc/self/exe", args.data());
      _exit(127);
    }
    children.push_back(pid);
  }
  int result = 0;
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0 && result == 0) {
      result = code;
      for (pid_t other : children) kill(other, SIGTERM);  // the others would wait for it forever
    }
  }
  return result;
}

}  // namespace

int cmd_train(int argc, char** argv) {
  std::set<std::string> valued = kModelOptions;
  valued.insert({"output", "steps", "batch", "accumulate", "lr", "weight-decay", "clip", "warmup", "workers", "seed", "checkpoint-every", "nproc", "centre-jitter", "scale-jitter", "effect-prob", "aspect-jitter", "l1-weight", "stop-after", "layer-scale-init"});
  Args args(argc, argv, valued, {"full", "from-scratch", "resume"});
  const char* world_env = std::getenv("WORLD_SIZE");
  int nproc = args.get_int("nproc", 1, 1, 256);
  if (nproc > 1 && !(world_env && *world_env)) return launch_processes(nproc, argc, argv);
  std::unique_ptr<lorat::Distributed> dist = lorat::Distributed::from_environment();
  const bool writer = !dist || dist->rank() == 0;
  if (dist && !args.has("threads")) at::set_num_threads(std::max(1, int(std::thread::hardware_concurrency()) / dist->world()));
  if (args.positional().empty())
    throw Error("usage: lorat train KIND:PATH[:WEIGHT]... --model BASE --output DIR (kinds: lasot, got10k, trackingnet, otb, vot, coco)");

  // Options, then datasets: a bad value or a typo in a path fails before anything loads.
  lorat::TrainOptions o;
  o.out_dir = args.require("output");
  o.steps = args.get_int("steps", 1000, 1, 1 << 30);
  o.stop_after = args.get_int("stop-after", -1, 1, 1 << 30);
  o.layer_scale_init = args.get_double("layer-scale-init", 0);
  o.l1_weight = args.get_double("l1-weight", 0);
  if (!(o.l1_weight >= 0)) throw Error("--l1-weight must not be negative");
  o.batch = args.get_int("batch", 16, 1, 4096);
  o.accumulate = args.get_int("accumulate", 1, 1, 4096);
  o.lr = args.get_double("lr", 1e-4);
  o.weight_decay = args.get_double("weight-decay", 0.1);
  o.clip = args.get_double("clip", 1.0);
  o.warmup_steps = args.get_int("warmup", -1, -1, 1 << 30);
  o.workers = args.get_int("workers", 2, 1, 64);
  o.seed = uint64_t(args.get_int("seed", 1, 0, 1 << 30));
  o.checkpoint_every = args.get_int("checkpoint-every", 100, 1, 1 << 30);
  o.full = args.has("full") || args.has("from-scratch");
  o.from_scratch = args.has("from-scratch");
  o.resume = args.has("resume");
  o.precision = args.get("precision", "fp32");
  o.distributed = dist.get();
  lorat::PairOptions pair_options;
  pair_options.centre_jitter = args.get_double("centre-jitter", pair_options.centre_jitter);
  pair_options.scale_jitter = args.get_double("scale-jitter", pair_options.scale_jitter);
  if (pair_options.centre_jitter < 0 || pair_options.scale_jitter < 0) throw Error("--centre-jitter and --scale-jitter must not be negative");
  pair_options.effect_prob = args.get_double("effect-prob", pair_options.effect_prob);
  if (!(pair_options.effect_prob >= 0 && pair_options.effect_prob <= 1)) throw Error("--effect-prob must be between 0 and 1");
  pair_options.aspect_jitter = args.get_double("aspect-jitter", pair_options.aspect_jitter);
  if (!(pair_options.aspect_jitter >= 0 && pair_options.aspect_jitter <= 1)) throw Error("--aspect-jitter must be between 0 and 1");

  // Datasets before the model: a typo in a path fails before the model loads.
  std::vector<std::unique_ptr<lorat::Dataset>> datasets;
  std::vector<const lorat::Dataset*> pointers;
  std::vector<double> weights;
  for (const auto& spec : args.positional()) {
    auto colon = spec.find(':');
    if (colon == std::string::npos) throw Error("dataset '" + spec + "': expected KIND:PATH[:WEIGHT], e.g. got10k:/data/got10k/train");
    std::string kind = spec.substr(0, colon), path = spec.substr(colon + 1);
    double weight = 1;
    if (auto last = path.rfind(':'); last != std::string::npos && kind != "coco") {
      try {
        size_t used = 0;
        weight = std::stod(path.substr(last + 1), &used);
        if (used == path.size() - last - 1) path = path.substr(0, last);
        else weight = 1;
      } catch (const std::exception&) {
        weight = 1;
      }
    }
    datasets.push_back(std::make_unique<lorat::Dataset>(lorat::read_dataset(kind, path)));
    if (writer) std::fprintf(stderr, "%s", lorat::format_report(datasets.back()->report).c_str());
    pointers.push_back(datasets.back().get());
    weights.push_back(weight);
  }


  torch::manual_seed(int64_t(o.seed));  // the adapter's initial values
  // The weights stay fp32: --precision bf16 means bf16 autocast during training.
  LoadedModel loaded = load_model_from_args(args, /*convert_precision=*/false);
  lorat::PairSource source(pointers, weights, loaded.model->config, pair_options);
  lorat::Trainer trainer(loaded.model, source, o);
  if (writer)
    std::fprintf(stderr, "model: %s; %lld trainable parameters; %s from step %lld of %lld%s\n", loaded.description.c_str(),
               (long long)[&] { int64_t n = 0; for (auto& [k, t] : trainer.trainable()) n += t.numel(); return n; }(),
                 o.full ? "full fine-tuning" : "LoRA", (long long)trainer.start_step(), (long long)o.steps,
                 dist ? (", " + std::to_string(dist->world()) + " processes").c_str() : "");

  const bool tty = isatty(2);
  Series loss{"loss", {}, {}}, iou{"IoU at positives", {}, {}}, lr{"learning rate", {}, {}};
  auto plot = [&] {
    std::string dir = o.out_dir;
    write_plot(dir + "/loss.png", "training loss", "step", "", {loss, iou});
    write_plot(dir + "/lr.png", "learning rate", "step", "", {lr}, /*log_y=*/true);
  };
  lorat::LoratModel model = trainer.run([&](const lorat::StepLog& s) {
    if (!writer) return;
    loss.x.push_back(double(s.step)), loss.y.push_back(s.loss);
    iou.x.push_back(double(s.step)), iou.y.push_back(s.iou);
    lr.x.push_back(double(s.step)), lr.y.push_back(s.lr);
    if (s.step % o.checkpoint_every == 0) plot();
    char line[256];
    std::snprintf(line, sizeof line, "step %lld/%lld  loss %.4f (bce %.4f giou %.4f l1 %.4f)  iou %.3f  lr %.2e  %.1f pairs/s  ETA %s",
                  (long long)s.step, (long long)s.steps, s.loss, s.bce, s.giou, s.l1, s.iou, s.lr, s.pairs_per_second, hms(s.eta_seconds).c_str());
    if (tty) std::fprintf(stderr, "\r%s\033[K", line);
    else if (s.step % 10 == 0 || s.step == s.steps) std::fprintf(stderr, "%s\n", line);
  });
  if (!writer) return 0;  // rank 0 writes the result
  if (tty) std::fprintf(stderr, "\n");
  plot();
  std::string result;
  if (o.full) {
    result = (fs::path(o.out_dir) / "model.safetensors").string();
    lorat::save_bundle(result, *model, lorat::DType::F32);
  } else {
    result = (fs::path(o.out_dir) / "adapter.safetensors").string();
    lorat::save_adapter(result, *model);
  }
  std::printf("wrote %s (log: %s, curves: loss.png, lr.png)\n", result.c_str(), (fs::path(o.out_dir) / "log.jsonl").c_str());
  return 0;
}

}  // namespace lorat_cli
