#!/usr/bin/env bash
# The tiny passkey DRT and its sliding-window baseline from scratch on this 2-core CPU, in
# about 80 minutes (docs/results.md, "The recipe in 80 CPU minutes"). Sessions 16 to 22 found
# each stage's ingredient over fourteen stages (22 GPU minutes, 5.3 CPU hours); this is
# the same model, trained once through the stages that mattered (one thread per run; the
# long stage peaks at about 9 GB of memory):
#   aligned   configs/tiny-passkey.json (d = 64, S = 63, W = 64, one lower layer, k = 2),
#             T = 252, needles 154-250 tokens back, the first 800 steps with needle and
#             question at chunk starts (GCA learns to read a chunk there first); seed 3,
#             a seed whose copy forms (the plateau before it depends on the seed)
#   long      k = 8, T drawn from 2016-16128, needles anywhere: the question's chunk
#             chooses among up to 255 chunks, so the retriever learns to find the needle's
#   window    grown by a second lower layer (`drt grow`: it starts as the identity) with
#             W = 128 (the chunk before the question's then lies inside every window of
#             the question's chunk), T = 189-504 on the KJV with its verse numbers and
#             Debian's fortunes, half the needles inside the window, a fifth cut by a chunk
#             boundary: the window learns to copy the needle retrieval cannot serve
#   cool      the window stage's data for 500 steps more, the learning rate warmed to 3e-4
#             and cooled to 1e-5 (it took the last cells of the grid from 90-95% to 100%)
#   baseline  `drt baseline` of the window stage's start (the same layers, no retrieval),
#             trained on the window and cool stages' data and steps beside the DRT
# The DRT is then read with k = 1 (a setting, not a weight) and both models are evaluated
# with `drt eval passkey` at 1x to 1000x the longest training length (16128 tokens to 16M)
# on Brown corpus text, which no stage trains on (about 10 minutes, both side by side).
#   DRT_BUILD_DIR  build directory (default build)
#   RUN_DIR        where models and results go (default runs/tiny-passkey-cpu)
#   STEPS1 STEPS2 STEPS3 STEPS4
#                  steps of the four stages (default 3000, 300, 5200, 500: about 6, 26, 40 and 4
#                  minutes here, one thread each)
#   TRIALS         passkey trials per cell (default 20)
#   EVAL=0         train only
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
drt="${DRT_BUILD_DIR:-${repo}/build}/drt"
out="${RUN_DIR:-${repo}/runs/tiny-passkey-cpu}"
runs="${repo}/runs"
mkdir -p "${out}"
[ -x "${drt}" ] || { echo "no drt at ${drt} (build first: bash scripts/setup.sh)" >&2; exit 1; }
[ -f "${runs}/kjv-bytes/manifest.json" ] ||
  "${drt}" prepare --input kjv --tokenizer bytes --out "${runs}/kjv-bytes" --valid-fraction 0.05 --quiet
[ -f "${runs}/kjv-fortunes-bytes/manifest.json" ] || bash "${repo}/scripts/prepare_passkey_haystacks.sh"
export OMP_WAIT_POLICY=passive  # two jobs on two cores: libgomp must yield, not spin

# AdamW at a constant rate, no weight decay, no clipping (the copy probe's optimizer).
common=(--task passkey --weight-decay 0 --clip 0 --warmup 0 --eval-every 100 --save-every 100 --threads 1 --quiet)
run() {  # run NAME ARGS...: one stage into RUN_DIR/NAME, its log into RUN_DIR/NAME.log
  local name=$1; shift
  local start=${SECONDS}
  "${drt}" train --out "${out}/${name}" "${common[@]}" "$@" > "${out}/${name}.log" 2>&1 ||
    { echo "${name} failed:"; tail -n 20 "${out}/${name}.log"; return 1; }
  echo "${name}: $(grep -o '"eval_loss":[0-9.]*' "${out}/${name}/train_log.jsonl" | tail -1)," \
    "$(grep -c '"step"' "${out}/${name}/train_log.jsonl") steps, $(( (SECONDS - start) / 60 )) min"
}

echo "== aligned: T = 252, needles beyond the windows, the first 800 steps at chunk starts"
run aligned --config "${repo}/configs/tiny-passkey.json" --data "${runs}/kjv-bytes" --batch 16 --lr 3e-3 \
  --min-lr 3e-3 --seq-len 252 --needle-depths 0,0.25 --aligned-steps 800 --seed 3 --steps "${STEPS1:-3000}"

echo "== long: k = 8, T = 2016-16128, needles anywhere"
"${drt}" export --model "${out}/aligned" --out "${out}/long-start" --dtype F32 --set chunk_topk=8 > /dev/null
run long --model "${out}/long-start" --data "${runs}/kjv-bytes" --batch 16 --lr 3e-3 --min-lr 3e-3 \
  --seq-len 2016,4032,8064,16128 --needle-depths 0,1 --seed 5 --steps "${STEPS2:-300}"

echo "== window, cool: a second lower layer, W = 128, T = 189-504, near and split needles; the baseline beside it"
"${drt}" grow --model "${out}/long" --out "${out}/window-start" --add lower --set slide_window=128 > /dev/null
"${drt}" baseline --model "${out}/window-start" --out "${out}/baseline-start" > /dev/null
short=(--data "${runs}/kjv-fortunes-bytes" --batch 32 --seq-len 189,252,378,504 --needle-depths 0,1
       --near-needles 0.5 --split-needles 0.2)  # the window and cool stages' samples
stage3=("${short[@]}" --lr 1e-3 --min-lr 1e-3 --seed 24 --steps "${STEPS3:-5200}")
cool=("${short[@]}" --lr 3e-4 --min-lr 1e-5 --warmup 50 --seed 26 --steps "${STEPS4:-500}")
{ run window --model "${out}/window-start" "${stage3[@]}" && run cool --model "${out}/window" "${cool[@]}"; } &
a=$!
{ run baseline-window --model "${out}/baseline-start" "${stage3[@]}" &&
  run baseline --model "${out}/baseline-window" "${cool[@]}"; } &
b=$!
wait "${a}"; wait "${b}"
"${drt}" export --model "${out}/cool" --out "${out}/drt" --dtype F32 --set chunk_topk=1 > /dev/null

[ "${EVAL:-1}" = 1 ] || { echo "done (no evaluation): ${out}/drt, ${out}/baseline"; exit 0; }
echo "== evaluation: 16128 tokens to 16M, five depths, ${TRIALS:-20} trials per cell"
evaluate() {  # evaluate MODEL_DIR NAME
  DRT_THREADS=1 "${drt}" eval passkey --model "$1" --haystack brown \
    --lengths 16128,64512,258048,1032192,4128768,16128000 --depths 5 --trials "${TRIALS:-20}" \
    --memory-dtype bf16 --memory "disk:${out}/$2.mem" --quiet --json "${out}/passkey-$2.json"
  rm -f "${out}/$2.mem"
}
evaluate "${out}/drt" drt &
a=$!
evaluate "${out}/baseline" baseline &
b=$!
wait "${a}"; wait "${b}"
"${drt}" eval plot --inputs "${out}/passkey-drt.json,${out}/passkey-baseline.json" --labels drt,baseline \
  --metric accuracy --out "${out}/passkey-length.png"
echo "done: ${out} (passkey-drt.json, passkey-baseline.json, passkey-length.png)"
