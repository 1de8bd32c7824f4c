#!/usr/bin/env bash
# Installs the Debian 12 packages gst-lorat builds and runs with. Idempotent: installs only what is
# missing, so it is cheap to run before every build. Extra package names as arguments are added
# (models/starter/recipe.sh asks for the imagery lorat synth uses).
set -euo pipefail

packages=(
  meson ninja-build pkg-config g++ ccache
  libtorch-dev libgloo-dev libopenblas0-openmp   # OpenBLAS: with the reference BLAS LibTorch's fp32 matmuls are ~30x slower
  nlohmann-json3-dev libopencv-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
  gstreamer1.0-libav gstreamer1.0-tools gstreamer1.0-rtsp libgstrtspserver-1.0-dev
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev           # the fuzz targets (tools/fuzz.sh)
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq || true
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
