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

BUILD_DIR="${build}" TORCH_PYTHON="${py}" bash "${repo}/scripts/build_cuda.sh" || exit $?
jobs=$(nproc)

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
