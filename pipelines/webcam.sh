#!/usr/bin/env bash
# A webcam (V4L2) in, boxes drawn, shown in a window.
#   MODEL=model.safetensors pipelines/webcam.sh [/dev/video0] [INIT_BOX]
set -euo pipefail
dev=${1:-/dev/video0}
box=${2:-270,190,100,100}
: "${MODEL:?set MODEL to a gst-lorat model bundle (.safetensors)}"
gst-launch-1.0 v4l2src device="$dev" ! videoconvert ! video/x-raw,width=640,height=480 \
  ! lorattrack model="$MODEL" init-box="$box" \
  ! loratoverlay ! videoconvert ! autovideosink sync=false
