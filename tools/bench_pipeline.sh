#!/usr/bin/env bash
# lorattrack in a pipeline against the tracker alone, in one run: frames per second of
#   videotestsrc ! 640x480 RGB ! queue ! lorattrack ! fakesink   (the queue: the source draws in its own thread)
# (model load left out) and of `lorat bench` on the same
# model, frame size, target and threads. Prints both and their ratio.
#   tools/bench_pipeline.sh MODEL [FRAMES] [THREADS]     (default 200 frames, 2 threads)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
model=${1:?usage: tools/bench_pipeline.sh MODEL [FRAMES] [THREADS]}
frames=${2:-200}
threads=${3:-2}
[ -f "$model" ] || { echo "bench_pipeline.sh: model '$model' not found" >&2; exit 1; }
export GST_PLUGIN_PATH=$PWD/$build/gst

# gst-launch times from PLAYING to EOS; the model loads before (in start()), so it is left out. The
# first frame passes during preroll, before PLAYING: frames - 1 in that time.
pipeline_seconds=$(gst-launch-1.0 videotestsrc num-buffers="$frames" pattern=smpte ! video/x-raw,format=RGB,width=640,height=480,framerate=1000/1 ! queue ! \
    lorattrack model="$model" threads="$threads" init-box=40,40,60,80 ! fakesink sync=false |
  sed -n 's/^Execution ended after \([0-9]*\):\([0-9]*\):\([0-9.]*\)$/\1 \2 \3/p' | awk '{ print $1 * 3600 + $2 * 60 + $3 }')
[ -n "$pipeline_seconds" ] || { echo "bench_pipeline.sh: the pipeline failed (run it by hand to see why)" >&2; exit 1; }
pipeline_fps=$(awk -v n="$frames" -v s="$pipeline_seconds" 'BEGIN { print (n - 1) / s }')
# lorat bench's first row: targets crop model decode total FPS ...
tracker_fps=$("$build/tools/lorat" bench --model "$model" --frames "$frames" --threads "$threads" | awk '$1 == "1" { print $6; exit }')
awk -v p="$pipeline_fps" -v t="$tracker_fps" -v n="$frames" 'BEGIN {
  printf "pipeline (videotestsrc ! queue ! lorattrack ! fakesink): %.1f FPS over %d frames\ntracker alone (lorat bench): %.1f FPS\npipeline / tracker: %.1f%%\n", p, n, t, 100 * p / t }'
