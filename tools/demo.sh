#!/usr/bin/env bash
# The first command of the README: installs what is missing, builds the plugin, and tracks the
# bag in the bundled clip (pipelines/data/bag.avi) with the default model through a real
# GStreamer pipeline (pipelines/file-to-mp4.sh), writing an MP4 with the boxes drawn.
#   tools/demo.sh [OUT_DIR]          (default: /tmp/gst-lorat-demo)
# MODEL=bundle.safetensors uses another model; BUILD_DIR (default: build) is reused when it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
out_dir=${1:-${TMPDIR:-/tmp}/gst-lorat-demo}

tools/install-deps.sh
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build"
fi
ninja -C "$build" gst/libgstlorat.so   # the plugin only: the tests take long to compile
export GST_PLUGIN_PATH=$PWD/$build/gst

# The first ground-truth box of the VOT "bag" sequence (../shared/data/sequences/bag/groundtruth.txt,
# line 1: the corners 291.827,203.603 396.382,264.289 442.173,185.397 337.618,124.711), as the
# axis-aligned box x = min x, y = min y, w = max x - min x, h = max y - min y (0-based pixels).
init_box=291.827,124.711,150.346,139.578
frames=196   # frames in bag.avi (counted with decodebin ! fakesink)

mkdir -p "$out_dir"
mp4=$out_dir/bag-tracked.mp4
log=$out_dir/gst-launch.log
echo "tracking pipelines/data/bag.avi ($frames frames) with ${MODEL:-the default model} ..."
start=$(date +%s.%N)
if ! pipelines/file-to-mp4.sh pipelines/data/bag.avi "$mp4" "$init_box" >"$log" 2>&1; then
  # gst-launch's error line: "ERROR: from element /GstPipeline:pipeline0/...: <message>".
  message=$(sed -n 's/^ERROR: from element [^ ]*: //p' "$log" | head -1)
  echo "demo.sh: ${message:-the pipeline failed: $(tail -1 "$log")} (full log: $log)" >&2
  exit 1
fi
end=$(date +%s.%N)
awk -v n="$frames" -v a="$start" -v b="$end" -v mp4="$mp4" 'BEGIN {
  printf "wrote %s\n%d frames in %.1f s: %.1f frames per second for the whole pipeline (decode, track, draw, encode, model load included)\n", mp4, n, b - a, n / (b - a) }'
