#!/usr/bin/env bash
# An RTSP camera in, boxes drawn, shown in a window. Try it without a camera:
#   build/tools/lorat-rtsp-serve pipelines/data/bag.avi &      (serves rtsp://127.0.0.1:8554/clip)
#   MODEL=model.safetensors pipelines/rtsp-camera.sh rtsp://127.0.0.1:8554/clip 291,124,150,140
# -m prints the lorat-box messages (track id, box, score) as they come.
set -euo pipefail
url=${1:?usage: rtsp-camera.sh RTSP_URL INIT_BOX}
box=${2:?usage: rtsp-camera.sh RTSP_URL INIT_BOX}
: "${MODEL:?set MODEL to a gst-lorat model bundle (.safetensors)}"
gst-launch-1.0 -m rtspsrc location="$url" latency=200 ! decodebin ! videoconvert \
  ! lorattrack model="$MODEL" init-box="$box" post-messages=true \
  ! loratoverlay ! videoconvert ! autovideosink sync=false
