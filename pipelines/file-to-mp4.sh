#!/usr/bin/env bash
# A video file in, boxes drawn, an MP4 out.
#   MODEL=model.safetensors pipelines/file-to-mp4.sh [IN] [OUT] [INIT_BOX]
# INIT_BOX is x,y,w,h in pixels of the first frame (several: "x,y,w,h;x,y,w,h").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
in=${1:-$here/data/bag.avi}
out=${2:-bag-tracked.mp4}
box=${3:-291,124,150,140}
: "${MODEL:?set MODEL to a gst-lorat model bundle (.safetensors)}"
gst-launch-1.0 -e filesrc location="$in" ! decodebin ! videoconvert \
  ! lorattrack model="$MODEL" init-box="$box" \
  ! loratoverlay ! videoconvert ! x264enc ! mp4mux ! filesink location="$out"
echo "wrote $out"
