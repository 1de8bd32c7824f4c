#!/bin/bash
# FPS and latency of the tracker per variant (S, B, L at 224 and 378), with 1 target and with N,
# on the GPU (device=cuda) and on the CPU, in one run: `lorat bench` on random-weight bundles (the
# speed does not depend on the weights). Stops with one line when there is no GPU.
#
#   tools/bench_gpu.sh [BUILD_DIR]        (default: build)
#
# Environment: TARGETS (8), FRAMES (50, GPU frames timed per row), CPU_FRAMES (5),
# PRECISION (fp16, on the GPU), CPU_PRECISION (auto), THREADS (CPU threads; default LibTorch's),
# VARIANTS ("S-224 S-378 B-224 B-378 L-224 L-378"), DEVICES ("cuda cpu": "cpu" gives the CPU rows
# alone, without a GPU), WORK (/tmp/lorat-bench-gpu: bundles and the full bench logs).
#
# Columns: latency = one tracker step for all targets (crop, model, decode; what `lorat bench` calls
# total), FPS = frames per second at that latency, target-FPS = FPS x targets. On cuda the crop
# column is the upload and launch of the crop kernel; the kernel itself runs in the model column
# (the step synchronises once, when the results come back).
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
LORAT=$BUILD/tools/lorat
TARGETS=${TARGETS:-8}
FRAMES=${FRAMES:-50}
CPU_FRAMES=${CPU_FRAMES:-5}
PRECISION=${PRECISION:-fp16}
CPU_PRECISION=${CPU_PRECISION:-auto}
VARIANTS=${VARIANTS:-S-224 S-378 B-224 B-378 L-224 L-378}
DEVICES=${DEVICES:-cuda cpu}
WORK=${WORK:-/tmp/lorat-bench-gpu}

die() { echo "bench_gpu.sh: $*" >&2; exit 1; }

[ -x "$LORAT" ] || die "$LORAT not found: build first (meson setup $BUILD && ninja -C $BUILD)"
case " $DEVICES " in
  *" cuda "*)
    if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
      die "no GPU: nvidia-smi lists none, so there are no GPU figures to take here (DEVICES=cpu gives the CPU rows alone)"
    fi ;;
esac
mkdir -p "$WORK/logs" || die "cannot create $WORK"

# The bundle and the --variant a variant runs with. A 378 variant runs a 224 bundle of the same
# widths at its crop sizes (the position embedding is resized); S-378 has no config in models/, so
# it is S-224 with the 378 geometry of B-378 and L-378 (template 196, search 378, factor 5).
bundle_args() {
  local v=$1 base=$1
  case $v in *-378) base=${v%-378}-224 ;; esac
  local bundle=$WORK/$base.safetensors
  if [ ! -f "$bundle" ]; then
    "$LORAT" new --variant "$base" --output "$bundle" --storage fp16 >/dev/null || return 1
  fi
  if [ "$base" = "$v" ]; then
    echo "--model $bundle"
  elif [ -f "models/$v.json" ]; then
    echo "--model $bundle --variant $v"
  else
    sed -e "s/\"name\": *\"$base\"/\"name\": \"$v\"/" -e 's/"template_size": *[0-9]*/"template_size": 196/' \
        -e 's/"search_size": *[0-9]*/"search_size": 378/' -e 's/"search_factor": *[0-9.]*/"search_factor": 5.0/' \
        "models/$base.json" > "$WORK/$v.json" || return 1
    echo "--model $bundle --variant $WORK/$v.json"
  fi
}

# A CUDA build of LibTorch is what device=cuda needs; say so once rather than per row.
case " $DEVICES " in
  *" cuda "*)
    first=${VARIANTS%% *}
    probe=$("$LORAT" bench $(bundle_args "$first") --device cuda --precision "$PRECISION" --frames 1 --no-unmerged 2>&1) ||
      die "lorat bench --device cuda failed: $(echo "$probe" | tail -n 1)
  (device=cuda needs a CUDA LibTorch: meson setup $BUILD -Dlibtorch_prefix=/path/to/libtorch)" ;;
esac

case " $DEVICES " in *" cuda "*) echo "GPU: $(nvidia-smi -L | head -n 1 | sed 's/ (UUID.*//')" ;; esac
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores${THREADS:+, $THREADS threads}"
printf '%-7s %-5s %-9s %7s %11s %9s %11s %8s %9s\n' variant device precision targets "latency ms" FPS target-FPS "crop ms" "model ms"
failed=0
for v in $VARIANTS; do
  args=$(bundle_args "$v") || { echo "$v: could not make its bundle in $WORK"; failed=1; continue; }
  for d in $DEVICES; do
    if [ "$d" = cuda ]; then p=$PRECISION f=$FRAMES; else p=$CPU_PRECISION f=$CPU_FRAMES; fi
    log=$WORK/logs/$v-$d.txt
    if ! "$LORAT" bench $args --device "$d" --precision "$p" --targets "$TARGETS" --frames "$f" --no-unmerged \
        ${THREADS:+--threads "$THREADS"} >"$log" 2>&1; then
      echo "$v $d: lorat bench failed: $(tail -n 1 "$log")"
      failed=1
      continue
    fi
    # The precision auto chose is in the description line: "(NAME, depth D, PRECISION, DEVICE, ...".
    used=$(sed -n '1s/.*, depth [0-9]*, \([a-z0-9]*\), .*/\1/p' "$log")
    # Rows of lorat bench: targets, crop ms, model ms, decode ms, total ms, FPS, GFLOP/s, of peak.
    awk -v v="$v" -v d="$d" -v p="${used:-$p}" -v n="$TARGETS" '
      NF == 8 && ($1 == "1" || $1 == n) && $1 ~ /^[0-9]+$/ {
        printf "%-7s %-5s %-9s %7d %11.2f %9.1f %11.1f %8.2f %9.2f\n", v, d, p, $1, $5, $6, $6 * $1, $2, $3
      }' "$log"
  done
done
echo "full logs: $WORK/logs"
exit $failed
