#!/usr/bin/env bash
# The unit and element tests under AddressSanitizer + UndefinedBehaviorSanitizer (our code is
# instrumented; LibTorch, GStreamer and OpenCV are not). Leaks inside those libraries' own
# one-time initialisation are suppressed in tools/lsan.supp; ours are not.
#   tools/sanitize.sh [meson test args...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-asan}
tools/install-deps.sh
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dtests=enabled -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$build"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_odr_violation=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The plugin is instrumented: scan it in the (instrumented) test process, not in the uninstrumented
# gst-plugin-scanner, where the ASan runtime would not come first and the plugin would not load.
export GST_REGISTRY_FORK=no
rm -f "$build/tests/gst/registry.bin"  # a registry written by the scanner would remember the failure
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tools/lsan.supp:print_suppressions=0}
meson test -C "$build" --print-errorlogs --num-processes 1 --timeout-multiplier 4 "$@"
