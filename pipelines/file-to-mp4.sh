#!/usr/bin/env bash
# A video file in, boxes drawn, an MP4 out.
#   [MODEL=model.safetensors] pipelines/file-to-mp4.sh [IN] [OUT] [INIT_BOX]
# MODEL unset: lorattrack's default model (the shipped starter/starter.safetensors).
# INIT_BOX is x,y,w,h in pixels of the first frame (several: "x,y,w,h;x,y,w,h").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
in=${1:-$here/data/bag.avi}
out=${2:-bag-tracked.mp4}
box=${3:-291,124,150,140}
model=()
[ -n "${MODEL:-}" ] && model=(model="$MODEL")
gst-launch-1.0 -e filesrc location="$in" ! decodebin ! videoconvert \
  ! lorattrack ${model[@]+"${model[@]}"} init-box="$box" \
  ! loratoverlay ! videoconvert ! x264enc ! mp4mux ! filesink location="$out"
echo "wrote $out"
