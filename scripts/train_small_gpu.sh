#!/usr/bin/env bash
# The GPU version of scripts/train_small.sh's phase 1: the small DRT (configs/small.json)
# and its sliding-window baseline (configs/small-window.json), side by side on one GPU, on
# the King James Bible (byte tokenizer) with the passkey / multi-key mixture, at
# T_train = 1008 tokens, with a larger batch than the CPU recipe affords. Both models are
# exported with BF16 weights for `drt eval` (which runs on the CPU).
#
# The shipped models/drt-small-lm was made on an H200 in two runs of this script: a 1200-step
# schedule (39M tokens), then the same runs resumed under a 2400-step schedule (77M tokens;
# the learning rate rises back to ~1.2e-3 at the switch and decays again):
#   STEPS=1200 bash scripts/train_small_gpu.sh
#   STEPS=2400 TIME_LIMIT=290 bash scripts/train_small_gpu.sh   # the DRT stopped at step 2392
#   cp -r runs/gpu/drt-small-bf16/. models/drt-small-lm/
#
#   DRT_BUILD_DIR  build directory holding a CUDA drt (default build-cuda; scripts/cuda_check.sh)
#   DATA           prepared corpus (default runs/kjv-bytes, made by scripts/train_small.sh)
#   RUN_DIR        where the runs go (default runs/gpu)
#   STEPS          optimizer steps of the schedule (default 2000)
#   BATCH          samples per step (default 32)
#   TIME_LIMIT     seconds; each run stops there with a checkpoint (default 0 = none).
#                  Running the script again continues both runs.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
drt="${DRT_BUILD_DIR:-${repo}/build-cuda}/drt"
data="${DATA:-${repo}/runs/kjv-bytes}"
out="${RUN_DIR:-${repo}/runs/gpu}"
mkdir -p "${out}"
common=(--data "${data}" --seq-len 1008 --batch "${BATCH:-32}" --steps "${STEPS:-2000}" --device cuda
        --task mix:lm=0.5,passkey=0.35,multikey=0.15 --lr 2e-3 --min-lr 4e-4 --seed 0 --eval-every 100
        --save-every 100 --threads 2 --quiet --time-limit "${TIME_LIMIT:-0}")
"${drt}" train --config "${repo}/configs/small.json" --out "${out}/drt-small" "${common[@]}" \
  > "${out}/drt-small.log" 2>&1 &
a=$!
"${drt}" train --config "${repo}/configs/small-window.json" --out "${out}/window-small" "${common[@]}" \
  > "${out}/window-small.log" 2>&1 &
b=$!
status=0
wait "${a}" || status=$?
wait "${b}" || status=$?
tail -n 8 "${out}/drt-small.log" "${out}/window-small.log"
[ "${status}" = 0 ] || exit "${status}"
"${drt}" export --model "${out}/drt-small" --out "${out}/drt-small-bf16" --dtype BF16
"${drt}" export --model "${out}/window-small" --out "${out}/window-small-bf16" --dtype BF16
