#!/usr/bin/env bash
# Builds drt against the LibTorch inside python3's pip torch (CUDA where it has it), for a
# GPU machine. scripts/cuda_check.sh and the GPU training recipes start with it.
#
#   BUILD_DIR        build directory (default build-cuda)
#   TORCH_PYTHON     the python whose torch to build against (default python3)
#   TARGETS          what to build (default: drt_cli drt_model_tests)
#   DRT_CMAKE_ARGS   more CMake arguments, e.g. -DDRT_NLOHMANN_INCLUDE=DIR -DDRT_GTEST_SOURCE=DIR
#                    where nlohmann/json and GoogleTest are not installed, -DDRT_BUILD_TESTS=OFF
#                    with TARGETS=drt_cli where GoogleTest is missing
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo}"
build="${BUILD_DIR:-build-cuda}"
py="${TORCH_PYTHON:-python3}"
t0=$(date +%s)
stamp() { echo "== [$(( $(date +%s) - t0 )) s] $*"; }

stamp "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
echo "cores: $(nproc)   $(g++ --version | head -1)   $(cmake --version | head -1)"
torch_prefix=$("${py}" -c 'import torch; print(torch.utils.cmake_prefix_path)') || { echo "no torch in ${py}"; exit 2; }
torch_dir=$("${py}" -c 'import torch, os; print(os.path.dirname(torch.__file__))')
torch_abi=$("${py}" -c 'import torch; print(int(torch.compiled_with_cxx11_abi()))')
"${py}" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpus", torch.cuda.device_count())'

# Some LibTorch 2.x headers need C++20: ask them.
std=17
printf '#include <c10/util/C++17.h>\n#include <c10/core/Device.h>\n' |
  g++ -std=c++17 -x c++ -fsyntax-only -I"${torch_dir}/include" - > /dev/null 2>&1 || std=20
echo "C++ standard: ${std}"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
# shellcheck disable=SC2206
extra=(${DRT_CMAKE_ARGS:-})
common=(-S . -B "${build}" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DDRT_BUILD_BENCH=OFF -DCMAKE_CXX_STANDARD="${std}"
        "${extra[@]}")
stamp "configure (LibTorch's CMake package)"
if ! cmake "${common[@]}" -DCMAKE_PREFIX_PATH="${torch_prefix}" > "${build}.configure.log" 2>&1; then
  tail -25 "${build}.configure.log"
  stamp "configure failed; linking LibTorch directly (-DDRT_TORCH_DIR)"
  rm -rf "${build}"
  cmake "${common[@]}" -DDRT_TORCH_DIR="${torch_dir}" -DDRT_TORCH_CXX11_ABI="${torch_abi}" \
    > "${build}.configure.log" 2>&1 || { tail -40 "${build}.configure.log"; exit 3; }
fi
grep -E "^-- drt" "${build}.configure.log"

stamp "build"
# shellcheck disable=SC2206
targets=(${TARGETS:-drt_cli drt_model_tests})
if ! cmake --build "${build}" -j "$(nproc)" --target "${targets[@]}" -- $( [ ${#generator[@]} -gt 0 ] && echo "-k 0" || echo "-k" ) \
    > "${build}.build.log" 2>&1; then
  grep -E "error|Error" "${build}.build.log" | head -60
  stamp "build failed"
  exit 4
fi
stamp "built"
