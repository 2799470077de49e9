#!/usr/bin/env bash
# Installs what drt needs on a fresh Debian machine (as root), then configures and builds
# it in ./build. Idempotent: a second run installs nothing and rebuilds only what changed.
#   DRT_BUILD_DIR   build folder (default: <repo>/build)
#   DRT_JOBS        parallel compile jobs (default: number of cores)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${DRT_BUILD_DIR:-${repo}/build}"
jobs="${DRT_JOBS:-$(nproc)}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(build-essential cmake libtorch-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev
          libsentencepiece-dev libgloo-dev zlib1g-dev bible-kjv
          libopenblas0-openmp)  # LibTorch links libblas.so.3: OpenBLAS instead of the reference BLAS
command -v npm >/dev/null 2>&1 || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bash "${repo}/scripts/setup_data.sh"

echo "setup: building drt in ${build} (${jobs} jobs)"
cmake -S "${repo}" -B "${build}" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "${build}" -j "${jobs}"
echo "setup: done: ${build}/drt"
