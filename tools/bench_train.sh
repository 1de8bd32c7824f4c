#!/usr/bin/env bash
# LoRA against full fine-tuning on the same model, data, batch and seed, in one run: the ratios of
# step time and of peak memory (RSS), and the number of trainable parameters.
#   tools/bench_train.sh [VARIANT] [STEPS] [BATCH]      (default S-224, 6 steps, batch 4)
# The first step of each run is left out of the time (allocations, first-touch).
set -euo pipefail
cd "$(dirname "$0")/.."
lorat=${LORAT:-build/tools/lorat}
variant=${1:-S-224}
steps=${2:-6}
batch=${3:-4}
data=${DATA:-otb:tests/data/sequences/Crossing10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$lorat" new --variant "$variant" --output "$tmp/base.safetensors" --seed 1 >/dev/null
run() {  # name, extra args -> prints "seconds_per_step peak_kb trainable"
  local name=$1
  shift
  /usr/bin/time -f "%M" -o "$tmp/$name.rss" "$lorat" train "$data" --model "$tmp/base.safetensors" --output "$tmp/$name" \
    --steps "$steps" --batch "$batch" --checkpoint-every 1000000 --workers 1 --seed 1 "$@" >/dev/null 2>"$tmp/$name.err" ||
    { cat "$tmp/$name.err" >&2; exit 1; }
  local trainable
  trainable=$(grep -o '[0-9]* trainable parameters' "$tmp/$name.err" | cut -d' ' -f1)
  # Step time from the log: pairs/s is cumulative, so use the first and last step's clock.
  python3 - "$tmp/$name/log.jsonl" "$batch" <<'PY' | tr '\n' ' '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
batch = int(sys.argv[2])
# pairs_per_s at step k is k*batch/elapsed_k: elapsed_k = k*batch/pairs_per_s
t = [r["step"] * batch / r["pairs_per_s"] for r in rows]
print((t[-1] - t[0]) / (len(t) - 1))
PY
  echo "$(cat "$tmp/$name.rss") $trainable"
}
read -r lora_s lora_kb lora_params <<<"$(run lora)"
read -r full_s full_kb full_params <<<"$(run full --full)"
printf '%s, %s steps of batch %s on %s\n' "$variant" "$steps" "$batch" "$data"
printf '%-6s %14s %14s %16s\n' mode "s/step" "peak RSS MiB" "trainable params"
printf '%-6s %14.3f %14.0f %16s\n' lora "$lora_s" "$((lora_kb / 1024))" "$lora_params"
printf '%-6s %14.3f %14.0f %16s\n' full "$full_s" "$((full_kb / 1024))" "$full_params"
python3 -c "print(f'full / lora: step time x{$full_s / $lora_s:.2f}, peak memory x{$full_kb / $lora_kb:.2f}, trainable parameters x{$full_params / $lora_params:.1f}')"
