#!/usr/bin/env bash
# The training recipe of docs/results.md: the small DRT and its sliding-window baseline
# (same size, data, steps and seed; "retrieval": false), on the King James Bible with the
# byte tokenizer, T_train = 1008 tokens (16 chunks), a language-modelling / passkey /
# multi-key mixture. Both run side by side with one thread each (2 cores here).
#   DRT_TRAIN_STEPS  optimizer steps (default 1000)
#   DRT_BUILD_DIR    build directory (default build)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
drt="${DRT_BUILD_DIR:-${repo}/build}/drt"
runs="${repo}/runs"
steps="${DRT_TRAIN_STEPS:-1000}"
mkdir -p "${runs}"
if [ ! -f "${runs}/kjv-bytes/manifest.json" ]; then
  "${drt}" prepare --input kjv --tokenizer bytes --out "${runs}/kjv-bytes" --valid-fraction 0.05
fi
# libgomp spin-waits by default; two jobs on two cores need it to yield.
export OMP_WAIT_POLICY=passive
common=(--data "${runs}/kjv-bytes" --steps "${steps}" --seq-len 1008 --batch 4
        --task mix:lm=0.5,passkey=0.35,multikey=0.15 --lr 2e-3 --min-lr 4e-4
        --eval-every 100 --save-every 100 --threads 1 --seed 0 --quiet)
"${drt}" train --config "${repo}/configs/small.json" --out "${runs}/drt-small" "${common[@]}" \
  > "${runs}/drt-small.train.log" 2>&1 &
drt_pid=$!
"${drt}" train --config "${repo}/configs/small-window.json" --out "${runs}/window-small" "${common[@]}" \
  > "${runs}/window-small.train.log" 2>&1 &
window_pid=$!
status=0
wait "${drt_pid}" || status=$?
wait "${window_pid}" || status=$?
exit "${status}"
