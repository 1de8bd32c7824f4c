#include "trainer.h"

#include <ATen/ATen.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "checkpoint.h"
#include "error.h"
#include "file_io.h"
#include "loss.h"
#include "precision.h"

namespace lorat {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

[[noreturn]] void fail_write(const std::string& path, int err) {
  throw Error(path + ": cannot write (" + std::strerror(err) + ")");
}

// Makes a folder's entries (new files, renames) durable: a rename is only safe once both the
// renamed data and the folder holding the new name have reached the disk.
void fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail_write(dir.string(), errno);
  int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  if (err != 0 && err != EINVAL) fail_write(dir.string(), err);  // EINVAL: a file system without folder fsync
}

// Writes `text` to `path` and fsyncs it; a lorat::Error naming the file and the OS reason on failure.
void write_file_synced(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_write(path, errno);
  bool ok = write_all(fd, text.data(), text.size()) && ::fsync(fd) == 0;
  int err = errno;
  if (::close(fd) != 0 && ok) ok = false, err = errno;
  if (!ok) fail_write(path, err);
}

// Replaces `path` with `text` atomically (temporary file in the same folder, fsync, rename, fsync
// of the folder), so a crash leaves either the old or the new text, never a mix.
void write_text_atomic(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  try {
    write_file_synced(tmp, text);
  } catch (const Error&) {
    ::unlink(tmp.c_str());  // a failed write must not leave a stub taking space
    throw;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail_write(path, err);
  }
  fsync_dir(fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path());
}

// torch::save to a file name does not fsync, and on a short write (full disk) LibTorch's zip writer
// throws from its destructor, which aborts the process. So the optimiser state goes through a writer
// function that never reports a short write to LibTorch: it remembers the OS error and this function
// turns it into a lorat::Error naming the file once LibTorch is done.
void save_optimizer(const torch::optim::Optimizer& optimizer, const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_write(path, errno);
  int err = 0;
  std::function<size_t(const void*, size_t)> writer = [&](const void* data, size_t size) -> size_t {
    if (err != 0) return size;
    bool ok = data ? write_all(fd, data, size) : ::lseek(fd, off_t(size), SEEK_CUR) >= 0;  // null: skip (a hole)
    if (!ok) err = errno;
    return size;
  };
  std::string internal;
  try {
    torch::save(optimizer, writer);
  } catch (const c10::Error& e) {
    internal = e.what_without_backtrace();
    internal = internal.substr(0, internal.find('\n'));
  }
  if (err == 0 && internal.empty() && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) fail_write(path, err);
  if (!internal.empty()) throw Error(path + ": cannot write the optimiser state (" + internal + ")");
}

// "step-N" -> N; -1 for anything else (a user's folder, a temporary one).
int64_t checkpoint_step(const std::string& name) {
  if (name.size() <= 5 || name.rfind("step-", 0) != 0 || name.size() > 5 + 18) return -1;
  if (!std::all_of(name.begin() + 5, name.end(), [](char c) { return c >= '0' && c <= '9'; })) return -1;
  return std::stoll(name.substr(5));
}

}  // namespace

Trainer::Trainer(LoratModel model, const PairSource& data, TrainOptions options)
    : model_(std::move(model)), data_(data), options_(std::move(options)) {
  if (options_.out_dir.empty()) throw Error("training needs an output folder");
  if (options_.steps <= 0 || options_.batch <= 0 || options_.accumulate <= 0) throw Error("steps, batch and accumulate must be positive");
  if (options_.precision != "fp32" && options_.precision != "bf16") throw Error("training precision must be fp32 or bf16, not " + options_.precision);
  if (options_.distributed && options_.batch % options_.distributed->world() != 0)
    throw Error("the batch (" + std::to_string(options_.batch) + ") must divide evenly over " + std::to_string(options_.distributed->world()) +
                " processes");
  fs::create_directories(fs::path(options_.out_dir) / "checkpoints");
  if (!options_.distributed || options_.distributed->rank() == 0) {
    lock_ = std::make_unique<FolderLock>(options_.out_dir, "lorat train");
    // A run killed while writing a checkpoint leaves its temporary folder: nothing ever names it,
    // so drop it (it only takes space, and could fill the disk over many restarts).
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::path(options_.out_dir) / "checkpoints", ec))
      if (e.path().filename().string().rfind(".tmp-", 0) == 0) fs::remove_all(e.path(), ec);
  }
  if (options_.from_scratch) {
    options_.full = true;
    // A fresh head (bias still 0) starts at -4; a warm start keeps what it learned. A resumed run
    // loads its own below.
    torch::NoGradGuard no_grad;
    torch::Tensor bias = model_->named_tensors().at("head.cls_mlp.layers.2.bias");
    if (bias.eq(0).all().item<bool>()) bias.fill_(-4.0);
  }
  if (options_.layer_scale_init > 0) {
    // DINOv2's LayerScale starts at 1e-5, right for loading its weights; from scratch it shuts
    // every block off and the model sits on a generic box.
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : model_->named_tensors())
      if (name.size() > 6 && name.compare(name.size() - 6, 6, ".gamma") == 0) t.fill_(options_.layer_scale_init);
  }
  if (!options_.full && !model_->has_lora()) model_->add_lora(model_->config.lora_rank, model_->config.lora_scale());
  if (model_->merged()) throw Error("the model carries a merged adapter; train from an unmerged model or a plain base");

  std::vector<torch::Tensor> decay, no_decay;
  for (auto& [name, t] : model_->named_tensors()) {
    bool trains = (name != "pos_embed" || options_.from_scratch) && (options_.full || trains_with_lora(name));
    t.set_requires_grad(trains);
    if (!trains) continue;
    (t.dim() <= 1 || name == "token_type_embed" ? no_decay : decay).push_back(t);
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(options_.lr).weight_decay(options_.weight_decay)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(options_.lr).weight_decay(0.0)));
  optimizer_ = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(options_.lr));

  schedule_.base_lr = options_.lr;
  schedule_.total_steps = options_.steps;
  schedule_.warmup_steps = options_.warmup_steps >= 0 ? options_.warmup_steps : options_.steps / 20;
  if (options_.resume) load_checkpoint();
}

std::map<std::string, torch::Tensor> Trainer::trainable() const {
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, t] : model_->named_tensors())
    if (t.requires_grad()) out[name] = t;
  return out;
}

void Trainer::save_checkpoint(int64_t step) {
  if (options_.distributed && options_.distributed->rank() != 0) return;  // one writer
  // A new folder per checkpoint, written under a temporary name, fsynced and renamed when complete;
  // then the "latest" pointer moves (atomically). A crash at any moment, or a write that fails (full
  // disk), leaves "latest" naming the previous complete checkpoint.
  fs::path out = options_.out_dir, dir = out / "checkpoints";
  std::string name = "step-" + std::to_string(step);
  fs::path tmp = dir / (".tmp-" + name), final_dir = dir / name;
  try {
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    // A full run's checkpoint is a whole model bundle and a LoRA run's is an adapter, so a user can
    // evaluate or merge any checkpoint as it is; resuming reads back only the tensors that train.
    std::string tensors_path = (tmp / "trainable.safetensors").string();
    if (options_.full) save_bundle(tensors_path, *model_, DType::F32);
    else save_adapter(tensors_path, *model_);
    save_optimizer(*optimizer_, (tmp / "optimizer.pt").string());
    json state = {{"step", step}, {"seed", options_.seed}, {"full", options_.full}, {"steps", options_.steps}, {"batch", options_.batch}};
    write_file_synced((tmp / "state.json").string(), state.dump());
    fsync_dir(tmp);
    // A folder of this name can only be a complete one a killed run renamed but never pointed
    // "latest" at ("latest" names an older step, since a resumed run saves after its start step).
    fs::remove_all(final_dir);
    fs::rename(tmp, final_dir);
    fsync_dir(dir);
    write_text_atomic((out / "latest").string(), name + "\n");
  } catch (const fs::filesystem_error& e) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw Error((e.path1().empty() ? tmp.string() : e.path1().string()) + ": cannot write (" + e.code().message() + ")");
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);  // frees the space a failed write took; "latest" was not touched
    throw;
  }
  // Keep this checkpoint and the newest older one; also drop newer ones left by an earlier run in
  // this folder, so no other folder looks newer than what "latest" names. Best effort: a leftover
  // costs only space.
  int64_t previous = -1;
  std::vector<int64_t> steps;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    int64_t n = checkpoint_step(e.path().filename().string());
    if (n < 0 || n == step) continue;
    steps.push_back(n);
    if (n < step) previous = std::max(previous, n);
  }
  for (int64_t n : steps)
    if (n != previous) fs::remove_all(dir / ("step-" + std::to_string(n)), ec);
}

void Trainer::load_checkpoint() {
  fs::path out = options_.out_dir, latest = out / "latest";
  // Loads what "latest" names into the model and optimiser and sets start_step_.
  auto load_latest = [&] {
    std::string named;
    {
      std::ifstream in(latest);
      in >> named;
    }
    // What "latest" names first; should it be missing or damaged (it should not happen: checkpoints
    // are complete before "latest" moves), the other step-N folders, newest first.
    std::vector<std::string> candidates;
    if (!named.empty()) candidates.push_back(named);
    std::vector<int64_t> others;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out / "checkpoints", ec)) {
      int64_t n = checkpoint_step(e.path().filename().string());
      if (n >= 0 && e.path().filename().string() != named) others.push_back(n);
    }
    std::sort(others.rbegin(), others.rend());
    for (int64_t n : others) candidates.push_back("step-" + std::to_string(n));

    std::string first_problem = named.empty() ? "it names no checkpoint" : "";
    bool loaded = false;
    for (const std::string& name : candidates) {
      fs::path dir = out / "checkpoints" / name;
      std::string problem;
      json state;
      bool other_full = false;
      try {
        if (!fs::is_directory(dir)) throw Error(dir.string() + ": missing");
        std::ifstream state_file(dir / "state.json");
        if (!state_file) throw Error((dir / "state.json").string() + ": missing");
        try {
          state = json::parse(state_file);
        } catch (const json::exception&) {
          throw Error((dir / "state.json").string() + ": unreadable checkpoint state");
        }
        other_full = state.value("full", false) != options_.full;  // a user error, not damage: reported below
        if (other_full) throw Error(dir.string() + ": checkpoint was made with a different --full setting");
        int64_t step = state.at("step").get<int64_t>();
        if (checkpoint_step(name) >= 0 && step != checkpoint_step(name)) throw Error((dir / "state.json").string() + ": holds step " + std::to_string(step));
        // Read and check both files before changing anything, so a damaged checkpoint leaves the
        // model and optimiser as they were for the next candidate.
        std::string tensors_path = (dir / "trainable.safetensors").string(), optimizer_path = (dir / "optimizer.pt").string();
        auto tensors = read_safetensors_tensors(tensors_path);
        torch::serialize::InputArchive archive;
        try {
          archive.load_from(optimizer_path);
        } catch (const c10::Error&) {
          throw Error(optimizer_path + ": unreadable optimiser state");
        }
        std::vector<std::string> required;
        for (const auto& [n, t] : trainable()) required.push_back(n);
        load_into(*model_, tensors, tensors_path, required, false);
        try {
          optimizer_->load(archive);
        } catch (const c10::Error&) {
          throw Error(optimizer_path + ": unreadable optimiser state");
        }
        start_step_ = step;
        loaded = true;
      } catch (const std::exception& e) {  // lorat::Error, a json type error, a filesystem error
        if (other_full) throw;
        problem = e.what();
      }
      if (loaded) {
        if (name != named)
          std::fprintf(stderr, "warning: %s (from %s) cannot be loaded (%s); resuming from %s\n", named.empty() ? "the checkpoint" : named.c_str(),
                       latest.c_str(), first_problem.c_str(), dir.c_str());
        break;
      }
      if (first_problem.empty()) first_problem = problem;
    }
    if (!loaded) throw Error(latest.string() + ": no checkpoint can be loaded (" + first_problem + ")");
  };
  if (fs::exists(latest)) load_latest();  // else nothing saved yet: start from step 0
  if (options_.distributed && options_.distributed->rank() != 0) return;
  // The log keeps what the resumed run will not repeat: steps up to the checkpoint (none when a run
  // was stopped before its first checkpoint, or it would be logged twice).
  fs::path log_path = out / "log.jsonl";
  if (!fs::exists(log_path)) return;
  std::ifstream log_in(log_path);
  std::string kept, line;
  while (std::getline(log_in, line)) {
    try {
      if (json::parse(line).value("step", int64_t(0)) <= start_step_) kept += line + "\n";
    } catch (const json::exception&) {
      // a line cut by the crash
    }
  }
  write_text_atomic(log_path.string(), kept);
}

LoratModel Trainer::run(const std::function<void(const StepLog&)>& on_step) {
  model_->train();
  Distributed* dist = options_.distributed;
  const bool writer = !dist || dist->rank() == 0;
  const int share = dist ? options_.batch / dist->world() : options_.batch, first = dist ? dist->rank() * share : 0;
  std::ofstream log;
  if (writer) log.open(fs::path(options_.out_dir) / "log.jsonl", std::ios::app);
  const int64_t micro_total = options_.steps * options_.accumulate;
  std::deque<std::future<Batch>> ahead;
  int64_t next_micro = start_step_ * options_.accumulate;
  auto fetch = [&] {
    while (int64_t(ahead.size()) < std::max(1, options_.workers) && next_micro < micro_total) {
      uint64_t index = uint64_t(next_micro++);
      ahead.push_back(std::async(std::launch::async, [this, index, first, share] {
        return data_.batch(options_.seed, index, options_.batch, first, share);
      }));
    }
  };
  auto run_start = std::chrono::steady_clock::now();
  const int64_t last = options_.stop_after >= 0 ? std::min(options_.steps, options_.stop_after) : options_.steps;
  for (int64_t step = start_step_; step < last; ++step) {
    const double lr = schedule_.lr_at(step);
    for (auto& group : optimizer_->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    optimizer_->zero_grad();
    StepLog s;
    s.step = step + 1;
    s.steps = options_.steps;
    s.lr = lr;
    for (int micro = 0; micro < options_.accumulate; ++micro) {
      fetch();
      Batch b = ahead.front().get();
      ahead.pop_front();
      fetch();
      auto param = model_->token_type_embed;
      LossTerms loss;
      {
        auto out = [&] {
          ScopedCpuAutocast autocast(options_.precision == "bf16");
          return model_->forward(b.z.to(param.device()), b.x.to(param.device()), b.z_mask.to(param.device()));
        }();
        torch::Tensor normaliser;
        if (dist) {
          // Positives over the whole global batch, so the summed gradients are one process's.
          std::vector<torch::Tensor> count = {positive_cells(b.target, out.score_logits.size(1), out.score_logits.size(2)).sum().reshape({1})};
          dist->all_reduce_sum(count);
          normaliser = count[0][0];
        }
        loss = tracking_loss(out.score_logits, out.boxes, b.target.to(param.device()), normaliser, options_.l1_weight);
      }
      (loss.total / options_.accumulate).backward();
      std::vector<torch::Tensor> terms = {torch::stack({loss.total, loss.bce, loss.giou, loss.mean_iou, loss.l1}).detach().to(at::kCPU, at::kDouble)};
      if (dist) dist->all_reduce_sum(terms);
      auto t = terms[0].accessor<double, 1>();
      if (!std::isfinite(t[0])) throw Error("training diverged at step " + std::to_string(step + 1) + " (loss is not finite)");
      s.loss += t[0] / options_.accumulate;
      s.bce += t[1] / options_.accumulate;
      s.giou += t[2] / options_.accumulate;
      s.iou += t[3] / options_.accumulate;
      s.l1 += t[4] / options_.accumulate;
    }
    std::vector<torch::Tensor> params;
    for (auto& group : optimizer_->param_groups())
      for (auto& p : group.params()) params.push_back(p);
    if (dist) {
      std::vector<torch::Tensor> grads;
      for (auto& p : params)
        if (p.grad().defined()) grads.push_back(p.grad());
      dist->all_reduce_sum(grads);  // each process's share was already divided by the global count
    }
    torch::nn::utils::clip_grad_norm_(params, options_.clip);
    optimizer_->step();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
    double done = double(step + 1 - start_step_);
    s.pairs_per_second = done * options_.batch * options_.accumulate / std::max(seconds, 1e-9);
    s.eta_seconds = seconds / done * double(options_.steps - step - 1);
    if (writer)
      log << json{{"step", s.step}, {"loss", s.loss}, {"bce", s.bce}, {"giou", s.giou}, {"l1", s.l1}, {"iou", s.iou}, {"lr", s.lr}, {"pairs_per_s", s.pairs_per_second}}.dump()
          << "\n";
    log.flush();
    if (on_step) on_step(s);
    if ((step + 1) % options_.checkpoint_every == 0 || step + 1 == last) save_checkpoint(step + 1);
  }
  for (auto& f : ahead) f.wait();
  model_->eval();
  for (auto& [name, t] : model_->named_tensors()) t.set_requires_grad(false);
  return model_;
}

}  // namespace lorat
