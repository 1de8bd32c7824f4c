#!/usr/bin/env bash
# Serve a clip in a loop at rtsp://127.0.0.1:PORT/clip, so the RTSP pipelines run without a camera.
#   pipelines/serve-rtsp.sh [CLIP] [PORT]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
serve=${LORAT_RTSP_SERVE:-$here/../build/tools/lorat-rtsp-serve}
exec "$serve" "${1:-$here/data/bag.avi}" --port "${2:-8554}"
