#!/usr/bin/env bash
# Copying through GCA, for the DRT, on a GPU (docs/results.md "GCA copies, once retrieval is
# out of its way" and "Where GCA copying breaks"). Session 13 found that each half works
# alone: the retriever learns to find the needle's chunk when GCA is the only way to it, and
# GCA learns to copy from that chunk. Session 14 found where that copying stops: at the
# largest needle distance it was trained at (3 chunks at T = 252), whatever the length, with
# the needle's chunk attended at weight 1. Near needles also reach the question through the
# stacked windows (layers x W tokens: 6 x 64 = 384 here), and the copying learned there
# leans on that path. So, with a 64-token window (one chunk and its landmark):
#   gca189   T = 189: the question's chunk attends the needle's chunk alone (weight 1);
#            GCA learns to copy (session 13: letters 85-95% in ~900 steps)
#   gcafar   T drawn per step from 630 ... 1008, needles at depths 0-0.3: every needle
#            beyond the windows' reach (416+ tokens before the question), among more
#            chunks than k, so GCA reading the retrieved chunk is the only way to copy
#   passkey  T = 1008 with the passkey mix, needles at depths 0-0.5 (still beyond reach)
# The paper's window (512) is kept out on purpose: at T = 1008 the windows of a 6-layer
# model would reach every needle (6 x 512 = 3K tokens), the layout session 13's stage 2
# trained on and that copied only inside the window. WINDOW changes it for the last stage
# (then use T >> layers x WINDOW).
# It starts from the copy stage of scripts/train_copy_curriculum_gpu.sh (a DRT that copies
# inside its window), FROM; every stage continues when run again (its --time-limit).
#
#   DRT_BUILD_DIR  build directory holding a CUDA drt (default build-cuda)
#   DEVICE         cuda (default), or cpu for a smoke run
#   DATA           prepared corpus (default runs/kjv-bytes)
#   FROM           start model (default runs/curriculum/drt-copy)
#   RUN_DIR        where the stages go (default runs/gca-curriculum)
#   STEPS          steps of the gca189 and passkey stages (default 900)
#   FAR_STEPS      steps of the gcafar stage (default 3000: copying from the retrieved chunk
#                  alone is a circuit that forms after a plateau, and session 12 measured
#                  that plateau at ~40K samples even inside the window with ALiBi; session
#                  15's CPU runs, 32K samples at d = 128, never left it: docs/results.md
#                  "Far needles only, from scratch")
#   TIME           seconds each stage may run (0 = no limit)
#   WINDOW         slide_window of the last stage (default 64)
#   TOPK           chunk_topk while training (default 2: with 10-16 chunks per sample, the
#                  paper's 8 would attend most of them; it is a setting, not a weight, so
#                  the trained model can be evaluated with any k)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
drt="${DRT_BUILD_DIR:-${repo}/build-cuda}/drt"
data="${DATA:-${repo}/runs/kjv-bytes}"
from="${FROM:-${repo}/runs/curriculum/drt-copy}"
out="${RUN_DIR:-${repo}/runs/gca-curriculum}"
steps="${STEPS:-900}"
mkdir -p "${out}"
[ -f "${from}/model.safetensors" ] || { echo "no model in FROM=${from} (run scripts/train_copy_curriculum_gpu.sh first)" >&2; exit 1; }
common=(--data "${data}" --device "${DEVICE:-cuda}" --seed 0 --save-every 100 --eval-every 100 --threads 2 --quiet
        --time-limit "${TIME:-0}")
copy_mix=mix:copy-letters=0.5,copy=0.2,passkey=0.3

# with_window SRC DST W K: DST is SRC's weights and config with slide_window W and
# chunk_topk K (ALiBi has no parameter that depends on the window, and top-k none at all,
# so the weights carry over).
with_window() {
  rm -rf "$2"
  "${drt}" export --model "$1" --out "$2" --dtype F32 --set "slide_window=$3,chunk_topk=$4" > /dev/null
}

stage() {  # stage NAME START_MODEL TRAIN_FLAGS...
  local name=$1 start=$2; shift 2
  echo "== ${name}: from ${start}"
  "${drt}" train --model "${start}" --out "${out}/${name}" "${common[@]}" "$@" > "${out}/${name}.log" 2>&1 ||
    { tail -n 20 "${out}/${name}.log"; exit 1; }
  tail -n 5 "${out}/${name}.log"
}

[ -d "${out}/gca189" ] || with_window "${from}" "${out}/start-w64" 64 "${TOPK:-2}"
stage gca189 "${out}/start-w64" --steps "${steps}" --seq-len 189 --batch 64 --task "${copy_mix}" --lr 1e-3 --min-lr 4e-4
stage gcafar "${out}/gca189" --steps "${FAR_STEPS:-3000}" --seq-len 630,756,882,1008 --needle-depths 0,0.3 --batch 32 --task "${copy_mix}" \
  --lr 5e-4 --min-lr 2e-4
window="${WINDOW:-64}"
last="${out}/gcafar"
if [ "${window}" != 64 ]; then
  [ -d "${out}/passkey" ] || with_window "${out}/gcafar" "${out}/gcafar-w${window}" "${window}" "${TOPK:-2}"
  last="${out}/gcafar-w${window}"
fi
stage passkey "${last}" --steps "${steps}" --seq-len 1008 --needle-depths 0,0.5 --batch 16 \
  --task mix:lm=0.3,copy-letters=0.2,passkey=0.35,multikey=0.15 --lr 5e-4 --min-lr 1e-4
"${drt}" export --model "${out}/passkey" --out "${out}/passkey-bf16" --dtype BF16
