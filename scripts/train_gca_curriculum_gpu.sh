#!/usr/bin/env bash
# Copying through GCA, for the DRT, on a GPU (docs/results.md "GCA copies, once retrieval is
# out of its way"). Session 13 found that each half works alone: the retriever learns to
# find the needle's chunk when GCA is the only way to it, and GCA learns to copy from that
# chunk when it is the only chunk attended; but copying learned at one sample length was
# gone one chunk longer (it learned the layout). So, with a 64-token window (one chunk and
# its landmark) that leaves GCA the only way to any needle more than a chunk back:
#   gca189   T = 189: the question's chunk attends the needle's chunk alone (weight 1);
#            GCA learns to copy (session 13: letters 85-95% in ~900 steps)
#   gcamix   T drawn per step from 189 ... 1008 (--seq-len list): from two candidates
#            (the retrieval scores get a gradient again) to more than k, most of them
#            haystack, in layouts that change every step
#   passkey  T = 1008 with the passkey mix, the window back to W (default 512, the paper's)
# It starts from the copy stage of scripts/train_copy_curriculum_gpu.sh (a DRT that copies
# inside its window), FROM; every stage continues when run again (its --time-limit).
#
#   DRT_BUILD_DIR  build directory holding a CUDA drt (default build-cuda)
#   DEVICE         cuda (default), or cpu for a smoke run
#   DATA           prepared corpus (default runs/kjv-bytes)
#   FROM           start model (default runs/curriculum/drt-copy)
#   OUT            where the stages go (default runs/gca-curriculum)
#   STEPS          steps per stage (default 900)
#   TIME           seconds each stage may run (0 = no limit)
#   WINDOW         slide_window of the last stage (default 512)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
drt="${DRT_BUILD_DIR:-${repo}/build-cuda}/drt"
data="${DATA:-${repo}/runs/kjv-bytes}"
from="${FROM:-${repo}/runs/curriculum/drt-copy}"
out="${OUT:-${repo}/runs/gca-curriculum}"
steps="${STEPS:-900}"
mkdir -p "${out}"
[ -f "${from}/model.safetensors" ] || { echo "no model in FROM=${from} (run scripts/train_copy_curriculum_gpu.sh first)" >&2; exit 1; }
common=(--data "${data}" --device "${DEVICE:-cuda}" --seed 0 --save-every 100 --eval-every 100 --threads 2 --quiet
        --steps "${steps}" --time-limit "${TIME:-0}")
copy_mix=mix:copy-letters=0.5,copy=0.2,passkey=0.3

# with_window SRC DST W: DST is SRC's weights and config with slide_window W (ALiBi has no
# parameter that depends on the window, so the weights carry over).
with_window() {
  rm -rf "$2" && mkdir -p "$2"
  cp "$1/model.safetensors" "$1/tokenizer.json" "$2/"
  sed -E "s/\"slide_window\": *-?[0-9]+/\"slide_window\": $3/" "$1/config.json" > "$2/config.json"
  grep -q "\"slide_window\": $3" "$2/config.json" || { echo "could not set slide_window in $2/config.json" >&2; exit 1; }
}

stage() {  # stage NAME START_MODEL TRAIN_FLAGS...
  local name=$1 start=$2; shift 2
  echo "== ${name}: from ${start}"
  "${drt}" train --model "${start}" --out "${out}/${name}" "${common[@]}" "$@" > "${out}/${name}.log" 2>&1 ||
    { tail -n 20 "${out}/${name}.log"; exit 1; }
  tail -n 5 "${out}/${name}.log"
}

[ -d "${out}/gca189" ] || with_window "${from}" "${out}/start-w64" 64
stage gca189 "${out}/start-w64" --seq-len 189 --batch 64 --task "${copy_mix}" --lr 1e-3 --min-lr 4e-4
stage gcamix "${out}/gca189" --seq-len 189,252,315,378,504,630,1008 --batch 32 --task "${copy_mix}" \
  --lr 5e-4 --min-lr 2e-4
[ -d "${out}/passkey" ] || with_window "${out}/gcamix" "${out}/gcamix-w${WINDOW:-512}" "${WINDOW:-512}"
stage passkey "${out}/gcamix-w${WINDOW:-512}" --seq-len 1008 --batch 16 \
  --task mix:lm=0.3,copy-letters=0.2,passkey=0.35,multikey=0.15 --lr 5e-4 --min-lr 1e-4
"${drt}" export --model "${out}/passkey" --out "${out}/passkey-bf16" --dtype BF16
