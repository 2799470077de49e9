#!/usr/bin/env bash
# GPU checks of drt, for a machine with an NVIDIA GPU and a CUDA LibTorch (by default the
# pip torch of python3): builds drt against it, runs the CUDA tests (Cuda.*, Device.*,
# Distributed.* of drt_model_tests), then compares training throughput with --device cuda
# against --device cpu (all cores) on the same model, data and batch.
#
#   BUILD_DIR        build directory (default build-cuda)
#   TORCH_PYTHON     the python whose torch to build against (default python3)
#   DRT_CMAKE_ARGS   more CMake arguments, e.g. -DDRT_NLOHMANN_INCLUDE=DIR -DDRT_GTEST_SOURCE=DIR
#                    where nlohmann/json and GoogleTest are not installed
#   DATA             a prepared corpus (drt prepare) for the throughput comparison; default:
#                    this repository's documentation, byte-tokenized
#   BENCH_CONFIG     model of the comparison (default configs/small.json), BENCH_BATCH (16),
#                    BENCH_SEQ_LEN (1008), BENCH_STEPS (30 on the GPU; 4 on the CPU)
#   REPORT           where the JSON summary goes (default BUILD_DIR/cuda_check.json)
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo}"
build="${BUILD_DIR:-build-cuda}"
py="${TORCH_PYTHON:-python3}"
report="${REPORT:-${build}/cuda_check.json}"
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
jobs=$(nproc)
if ! cmake --build "${build}" -j "${jobs}" --target drt_cli drt_model_tests -- $( [ ${#generator[@]} -gt 0 ] && echo "-k 0" || echo "-k" ) \
    > "${build}.build.log" 2>&1; then
  grep -E "error|Error" "${build}.build.log" | head -60
  stamp "build failed"
  exit 4
fi
stamp "built"

stamp "CUDA tests"
timeout "${TEST_TIMEOUT:-300}" "${build}/tests/drt_model_tests" --gtest_filter='Cuda.*:Device.*:Distributed.*:Train.TimeLimit*' \
  --gtest_output="xml:${build}/cuda_tests.xml"
tests_rc=$?

stamp "throughput: --device cuda vs --device cpu"
data="${DATA:-}"
if [ -z "${data}" ]; then
  data="${build}/docs-bytes"
  [ -f "${data}/manifest.json" ] || "${build}/drt" prepare --input README.md docs --tokenizer bytes --out "${data}" \
    --valid-fraction 0.1 > /dev/null
fi
config="${BENCH_CONFIG:-configs/small.json}"
bench() {  # bench DEVICE STEPS EXTRA... -> median tokens/s of the steps after the first
  local device=$1 steps=$2; shift 2
  local out="${build}/bench-${device//:/_}"
  rm -rf "${out}"
  timeout "${BENCH_TIMEOUT:-180}" "${build}/drt" train --config "${config}" --data "${data}" --steps "${steps}" --seq-len "${BENCH_SEQ_LEN:-1008}" \
    --batch "${BENCH_BATCH:-16}" --device "${device}" --quiet --out "${out}" "$@" > "${out}.log" 2>&1 ||
    { tail -5 "${out}.log" >&2; echo 0; return; }
  "${py}" - "${out}/train_log.jsonl" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(round(statistics.median(r["tokens_per_s"] for r in rows[1:] or rows)))
EOF
}
gpu_tps=$(bench cuda "${BENCH_STEPS:-30}")
cpu_tps=$(bench cpu 4 --threads "${jobs}")
ratio=$("${py}" -c "print(round(${gpu_tps} / max(${cpu_tps}, 1), 1))")
printf '  %-28s %12s tokens/s\n' "cuda" "${gpu_tps}" "cpu (${jobs} threads)" "${cpu_tps}"
echo "  GPU / CPU: ${ratio}x  (${config}, batch ${BENCH_BATCH:-16} x ${BENCH_SEQ_LEN:-1008} tokens)"
gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
printf '{"gpu": "%s", "cpu_threads": %s, "config": "%s", "batch": %s, "seq_len": %s, "cuda_tokens_per_s": %s, "cpu_tokens_per_s": %s, "ratio": %s, "cuda_tests_rc": %s}\n' \
  "${gpu_name}" "${jobs}" "${config}" "${BENCH_BATCH:-16}" "${BENCH_SEQ_LEN:-1008}" "${gpu_tps}" "${cpu_tps}" "${ratio}" \
  "${tests_rc}" > "${report}"
stamp "done: ${report}"
exit "${tests_rc}"
