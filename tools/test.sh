#!/usr/bin/env bash
# The test command of the README: installs what is missing, builds, runs the whole suite.
# BUILD_DIR (default: build) is reused when it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}

tools/install-deps.sh
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dtests=enabled
fi
ninja -C "$build"
meson test -C "$build" --print-errorlogs --num-processes 2
