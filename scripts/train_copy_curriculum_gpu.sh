#!/usr/bin/env bash
# A copying curriculum for the small models, on a GPU (docs/results.md "Copying needs short
# samples first"). From scratch or from language modelling, no model formed a copying
# (induction) mechanism at T = 1008 in 1000-1800 steps, while at T = 189 both the window
# model and the DRT formed one in 400-1000 steps, and the ALiBi model then copied from up to
# its whole window (W = 512) at longer lengths. So:
#   stage 1  T = 189 (3 chunks): mix:lm=0.25,copy-letters=0.75, batch 64 — learn to copy,
#            keep the language model;
#   stage 2  T = 1008: the passkey / multi-key mixture of scripts/train_small_gpu.sh plus
#            copy-letters, from stage 1 — copy from beyond the window, through retrieval
#            and GCA.
# Session 13 ran it (H200, ~8 minutes, stages stopped by TIME1/TIME2): both models then copy
# inside their window at T = 1008 and neither beyond it, and no model learned the passkey's
# digits; scripts/train_gca_curriculum_gpu.sh continues from its stage 1 for the DRT.
# Both models run side by side. The DRT starts from models/drt-small-lm (77M tokens of language
# modelling); the window baseline from WINDOW_FROM (default runs/gpu/window-small-bf16,
# made by scripts/train_small_gpu.sh), or from configs/small-window.json if that is absent.
#
#   DRT_BUILD_DIR  build directory holding a CUDA drt (default build-cuda; scripts/cuda_check.sh)
#   DEVICE         cuda (default), or cpu for a smoke run
#   DATA           prepared corpus (default runs/kjv-bytes, made by scripts/train_small.sh)
#   RUN_DIR        where the runs go (default runs/curriculum)
#   STEPS1 / STEPS2        optimizer steps of the stages (default 1500 / 2000)
#   BATCH1 / BATCH2        samples per step (default 64 / 32)
#   TIME1 / TIME2          seconds each stage may run (0 = no limit; the same command continues)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
drt="${DRT_BUILD_DIR:-${repo}/build-cuda}/drt"
data="${DATA:-${repo}/runs/kjv-bytes}"
out="${RUN_DIR:-${repo}/runs/curriculum}"
window_from="${WINDOW_FROM:-${repo}/runs/gpu/window-small-bf16}"
mkdir -p "${out}"
drt_start=(--model "${repo}/models/drt-small-lm")
window_start=(--config "${repo}/configs/small-window.json")
[ -f "${window_from}/model.safetensors" ] && window_start=(--model "${window_from}")
common=(--data "${data}" --device "${DEVICE:-cuda}" --seed 0 --save-every 100 --threads 2 --quiet)

pair() {  # pair STAGE DRT_START... -- WINDOW_START... -- COMMON...
  local stage=$1; shift
  local a_args=() b_args=()
  while [ "$1" != "--" ]; do a_args+=("$1"); shift; done; shift
  while [ "$1" != "--" ]; do b_args+=("$1"); shift; done; shift
  "${drt}" train "${a_args[@]}" --out "${out}/drt-${stage}" "$@" > "${out}/drt-${stage}.log" 2>&1 &
  local a=$!
  "${drt}" train "${b_args[@]}" --out "${out}/window-${stage}" "$@" > "${out}/window-${stage}.log" 2>&1 &
  local b=$!
  local status=0
  wait "${a}" || status=$?
  wait "${b}" || status=$?
  tail -n 7 "${out}/drt-${stage}.log" "${out}/window-${stage}.log"
  return "${status}"
}

pair copy "${drt_start[@]}" -- "${window_start[@]}" -- "${common[@]}" --seq-len 189 --batch "${BATCH1:-64}" \
  --steps "${STEPS1:-1500}" --task mix:lm=0.25,copy-letters=0.75 --lr 1e-3 --min-lr 4e-4 --eval-every 100 \
  --time-limit "${TIME1:-0}"
pair passkey --model "${out}/drt-copy" -- --model "${out}/window-copy" -- "${common[@]}" --seq-len 1008 \
  --batch "${BATCH2:-32}" --steps "${STEPS2:-2000}" --task mix:lm=0.3,copy-letters=0.2,passkey=0.35,multikey=0.15 \
  --lr 1e-3 --min-lr 2e-4 --eval-every 100 --time-limit "${TIME2:-0}"
for m in drt window; do
  "${drt}" export --model "${out}/${m}-passkey" --out "${out}/${m}-passkey-bf16" --dtype BF16
done
