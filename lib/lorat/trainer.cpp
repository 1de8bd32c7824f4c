#include "trainer.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "checkpoint.h"
#include "error.h"
#include "loss.h"

namespace lorat {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool is_trainable_with_lora(const std::string& name) {
  return name.find(".lora.") != std::string::npos || name == "token_type_embed" || name.rfind("head.", 0) == 0;
}

// Replaces `path` with `text` atomically (temporary file in the same folder, then rename).
void write_text_atomic(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw Error(tmp + ": cannot write");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error(path + ": cannot write (" + ec.message() + ")");
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
  if (!options_.full && !model_->has_lora()) model_->add_lora(model_->config.lora_rank, model_->config.lora_scale());
  if (model_->merged()) throw Error("the model carries a merged adapter; train from an unmerged model or a plain base");

  std::vector<torch::Tensor> decay, no_decay;
  for (auto& [name, t] : model_->named_tensors()) {
    bool trains = name != "pos_embed" && (options_.full || is_trainable_with_lora(name));
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
  // A new folder per checkpoint, written under a temporary name and renamed when complete; then
  // the "latest" pointer moves. A crash at any moment leaves the previous checkpoint intact.
  fs::path dir = fs::path(options_.out_dir) / "checkpoints";
  std::string name = "step-" + std::to_string(step);
  fs::path tmp = dir / (".tmp-" + name), final_dir = dir / name;
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  write_tensors((tmp / "trainable.safetensors").string(), trainable(), DType::F32, {{"config", model_->config.to_json()}});
  try {
    torch::save(*optimizer_, (tmp / "optimizer.pt").string());
  } catch (const c10::Error& e) {
    throw Error((tmp / "optimizer.pt").string() + ": cannot write the optimiser state");
  }
  json state = {{"step", step}, {"seed", options_.seed}, {"full", options_.full}, {"steps", options_.steps}, {"batch", options_.batch}};
  write_text_atomic((tmp / "state.json").string(), state.dump());
  fs::remove_all(final_dir);
  fs::rename(tmp, final_dir);
  write_text_atomic((fs::path(options_.out_dir) / "latest").string(), name + "\n");
  // Keep the two newest.
  std::vector<int64_t> steps;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.rfind("step-", 0) == 0) steps.push_back(std::stoll(n.substr(5)));
  }
  std::sort(steps.begin(), steps.end());
  for (size_t i = 0; i + 2 < steps.size(); ++i) fs::remove_all(dir / ("step-" + std::to_string(steps[i])));
}

void Trainer::load_checkpoint() {
  fs::path latest = fs::path(options_.out_dir) / "latest";
  std::ifstream in(latest);
  std::string name;
  if (!(in >> name)) return;  // nothing saved yet: start from step 0
  fs::path dir = fs::path(options_.out_dir) / "checkpoints" / name;
  std::ifstream state_file(dir / "state.json");
  json state;
  try {
    state = json::parse(state_file);
  } catch (const json::exception&) {
    throw Error((dir / "state.json").string() + ": unreadable checkpoint state");
  }
  if (state.value("full", false) != options_.full) throw Error(dir.string() + ": checkpoint was made with a different --full setting");
  auto tensors = read_safetensors_tensors((dir / "trainable.safetensors").string());
  std::vector<std::string> required;
  for (const auto& [n, t] : trainable()) required.push_back(n);
  load_into(*model_, tensors, (dir / "trainable.safetensors").string(), required, false);
  try {
    torch::load(*optimizer_, (dir / "optimizer.pt").string());
  } catch (const c10::Error&) {
    throw Error((dir / "optimizer.pt").string() + ": unreadable optimiser state");
  }
  start_step_ = state.at("step").get<int64_t>();
  if (options_.distributed && options_.distributed->rank() != 0) return;
  // The log keeps what the resumed run will not repeat: steps up to the checkpoint.
  fs::path log_path = fs::path(options_.out_dir) / "log.jsonl";
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
  for (int64_t step = start_step_; step < options_.steps; ++step) {
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
        at::autocast::set_cpu_enabled(options_.precision == "bf16");
        at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
        auto out = model_->forward(b.z.to(param.device()), b.x.to(param.device()), b.z_mask.to(param.device()));
        at::autocast::set_cpu_enabled(false);
        torch::Tensor normaliser;
        if (dist) {
          // Positives over the whole global batch, so the summed gradients are one process's.
          std::vector<torch::Tensor> count = {positive_cells(b.target, out.score_logits.size(1), out.score_logits.size(2)).sum().reshape({1})};
          dist->all_reduce_sum(count);
          normaliser = count[0][0];
        }
        loss = tracking_loss(out.score_logits, out.boxes, b.target.to(param.device()), normaliser);
      }
      (loss.total / options_.accumulate).backward();
      std::vector<torch::Tensor> terms = {torch::stack({loss.total, loss.bce, loss.giou, loss.mean_iou}).detach().to(at::kCPU, at::kDouble)};
      if (dist) dist->all_reduce_sum(terms);
      auto t = terms[0].accessor<double, 1>();
      if (!std::isfinite(t[0])) throw Error("training diverged at step " + std::to_string(step + 1) + " (loss is not finite)");
      s.loss += t[0] / options_.accumulate;
      s.bce += t[1] / options_.accumulate;
      s.giou += t[2] / options_.accumulate;
      s.iou += t[3] / options_.accumulate;
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
      log << json{{"step", s.step}, {"loss", s.loss}, {"bce", s.bce}, {"giou", s.giou}, {"iou", s.iou}, {"lr", s.lr}, {"pairs_per_s", s.pairs_per_second}}.dump()
          << "\n";
    log.flush();
    if (on_step) on_step(s);
    if ((step + 1) % options_.checkpoint_every == 0 || step + 1 == options_.steps) save_checkpoint(step + 1);
  }
  for (auto& f : ahead) f.wait();
  model_->eval();
  for (auto& [name, t] : model_->named_tensors()) t.set_requires_grad(false);
  return model_;
}

}  // namespace lorat
