#!/usr/bin/env bash
# Record a live source with the boxes burnt in (Ctrl-C ends the file cleanly: -e sends EOS).
#   MODEL=model.safetensors pipelines/record.sh rtsp://127.0.0.1:8554/clip 291,124,150,140 out.mp4
#   MODEL=model.safetensors pipelines/record.sh /dev/video0 270,190,100,100 out.mp4
set -euo pipefail
src=${1:?usage: record.sh RTSP_URL|/dev/videoN INIT_BOX OUT.mp4}
box=${2:?usage: record.sh SOURCE INIT_BOX OUT.mp4}
out=${3:-recording.mp4}
: "${MODEL:?set MODEL to a gst-lorat model bundle (.safetensors)}"
case "$src" in
  rtsp://*) input="rtspsrc location=$src latency=200 ! decodebin" ;;
  *) input="v4l2src device=$src" ;;
esac
# shellcheck disable=SC2086
gst-launch-1.0 -e $input ! videoconvert \
  ! lorattrack model="$MODEL" init-box="$box" \
  ! loratoverlay ! videoconvert ! x264enc tune=zerolatency ! mp4mux ! filesink location="$out"
