// lorat: the command-line front of liblorat. Errors print one line and exit non-zero.
#include <c10/util/Exception.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "commands.h"
#include "lorat/error.h"

namespace {

const char* kUsage =
    "usage: lorat COMMAND [options]\n"
    "  track SEQUENCE|VIDEO   track one target, write frame,x,y,w,h,score rows\n"
    "        [--model BUNDLE] [--adapter A] | --variant V --base dinov2.pth [--adapter lorat.safetensors]\n"
    "        (no --model: the shipped default model, starter/starter.safetensors in the models folders)\n"
    "        [--init x,y,w,h] [--output FILE] [--frames N] [--size-update-rate R] [--precision auto|fp32|bf16|fp16] [--device cpu|cuda] [--threads N]\n"
    "  info FILE...           what a checkpoint holds\n"
    "  new --variant V --output BUNDLE [--base dinov2.pth] [--seed N] [--lora] [--storage fp32|fp16|bf16] [--depth N]\n"
    "                         a model bundle with random weights (or a DINOv2 backbone)\n"
    "  new --model BUNDLE --depth N --output BUNDLE [--layer-scale X] [--lora] [--storage ...]\n"
    "                         the bundle grown deeper: copies of its last block with LayerScale X (0: the same boxes)\n"
    "  merge --model BUNDLE | --variant V --base dinov2.pth, --adapter A --output BUNDLE [--storage fp32|fp16|bf16] [--size-update-rate R]\n"
    "                         fold an adapter into the weights: one deployable bundle\n"
    "  eval --sequences DIR... [--model BUNDLE] [--baseline csrt,kcf] [--output-dir D] [--starts K]\n"
    "                         one-pass evaluation (or K passes from evenly spaced frames): success AUC, precision at 20 px, normalised precision, FPS\n"
    "  eval --sequences DIR... --model BUNDLE --one-step [--search-scale K | --follow | --reach]\n"
    "                         each frame searched around the previous ground truth (its size times K): IoU, size bias, centre error\n"
    "  train KIND:PATH[:WEIGHT]... --model BASE | --variant V --base dinov2.pth, --output DIR [--steps N] [--batch B]\n"
    "        [--accumulate A] [--lr X] [--weight-decay X] [--warmup N] [--workers N] [--seed S] [--checkpoint-every N]\n"
    "        [--full | --from-scratch] [--centre-jitter X] [--scale-jitter X] [--effect-prob P] [--aspect-jitter X] [--l1-weight W] [--stop-after N] [--layer-scale-init X] [--resume] [--precision fp32|bf16] [--nproc N]   (kinds: lasot, got10k, trackingnet, otb, vot, coco)\n"
    "        data parallel: --nproc N on one host, or RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT as torchrun sets them\n"
    "                         train a LoRA adapter (or every weight with --full; --from-scratch also trains pos_embed); --resume continues after a crash\n"
    "  bench --model BUNDLE [--targets N] [--frames K] [--precision P] [--device D] [--threads T] [--no-unmerged]\n"
    "                         time per frame (crop, model, decode), FPS, FLOPs vs the measured matmul peak, LoRA cost\n"
    "  synth --output DIR [--sequences N] [--frames F] [--seed S] [--size WxH] [--clipart D,..] [--photos D,..] [--videos F,..]\n        [--motion-videos F,..] [--cutout-share P] [--max-objects N] [--threads T]\n"
    "                         training sequences (GOT-10k folders): synthetic scenes over real backgrounds, moving blobs of videos\n";

struct Command {
  const char* name;
  int (*run)(int, char**);
};

const Command kCommands[] = {
    {"track", lorat_cli::cmd_track},
    {"info", lorat_cli::cmd_info},
    {"new", lorat_cli::cmd_new},
    {"merge", lorat_cli::cmd_merge},
    {"eval", lorat_cli::cmd_eval},
    {"train", lorat_cli::cmd_train},
    {"bench", lorat_cli::cmd_bench},
    {"synth", lorat_cli::cmd_synth},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const auto& c : kCommands) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    try {
      return c.run(argc - 2, argv + 2);
    } catch (const lorat::Error& e) {
      std::fprintf(stderr, "lorat %s: %s\n", c.name, e.what());
    } catch (const c10::Error& e) {
      std::string msg = e.what_without_backtrace();
      std::fprintf(stderr, "lorat %s: internal error: %s\n", c.name, msg.substr(0, msg.find('\n')).c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lorat %s: %s\n", c.name, e.what());
    }
    return 1;
  }
  std::fprintf(stderr, "lorat: unknown command '%s'\n%s", argv[1], kUsage);
  return 2;
}
