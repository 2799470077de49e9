#!/usr/bin/env bash
# The W = 128 stage of the tiny passkey model on a GPU (docs/results.md, "The window's half"
# and "Near needles and split needles"): the window copies the needle in the chunk just before
# the question's, GCA copies the retrieved chunk, and both are trained at every length at
# once. Each run starts from a W = 128 model (START_DIR/NAME: config.json, model.safetensors,
# tokenizer.json) and trains on the KJV with its verse numbers (numbers in the haystack, so
# that the window's copy does not take over from GCA's wherever the window holds digits).
# All runs share the one GPU, side by side, for TIME seconds each:
#   mix        from v6: T drawn from 189, 252, 2016-16128; 20% near needles; lr 1e-3
#   mix-lr3    the same, lr 3e-3
#   mix-near4  the same, 40% near needles
#   long-near  from v6: T from 2016-16128 only; 20% near needles
#   long       from v6: T from 2016-16128, no near needles (the control)
#   n2-mix     from the shipped near2-k8 with W widened to 128, as mix
#   v3-mix     from v3 (window copying, no verse numbers yet), as mix
# and session 20's short-sample stage, from Bc (docs/results.md, session 19: T = 189, 252
# with 30% near needles on this CPU), batch 32, lr 1e-3, 30% near needles unless said:
#   s-split2   T = 189-504, 20% split needles (past the window from T = 504 on)
#   s-lr5      the same, lr 5e-4
#   s-split4   T = 189-504, 40% split needles
#   s-near5    T = 189-504, 50% near needles, 20% split needles
#   s-wide     T = 189-1008, 30% split needles
#   s-long     T = 189-4032, 20% split needles (keeps the long lengths in sight)
#   s-ctl      T = 189, 252, no split needles (Bc's own recipe, continued: the control)
# Session 20 ran the s-* runs for 419 s (~4K steps each, ~10 steps/s each side by side):
# grid means 75-79% against Bc's 76%, and within a few points of each other over 16
# haystack contexts (docs/results.md, "Short samples on a GPU"). Seven processes take ~80 s
# beyond TIME to start and stop: a device call of 600 s fits a 90 s build and TIME = 380.
# Every SNAP seconds each run's weights are copied to NAME.snap/<seconds>/, so that a
# model can be read at several points of its run without stopping it.
# Session 19 ran it for 270 s (docs/results.md, "Near needles and split needles"): every
# run kept retrieval (the needle's chunk found in every trial up to 16M tokens), but the
# window's copy (depth 1) got worse; it improves only when short samples dominate (the CPU
# runs of that section). The next GPU stage: T = 189, 252 with --near-needles 0.3
# --split-needles 0.2 for thousands of steps, then check the long cells again.
#   DRT_BUILD_DIR  build directory holding drt (default build-cuda: scripts/build_cuda.sh)
#   DEVICE         cuda (default), or cpu for a smoke run
#   DATA           the verse-numbered KJV, prepared (default runs/kjv-refs-bytes:
#                  bible -f Gen1:1-Rev22:21 > kjv.txt; drt prepare --input kjv.txt
#                  --tokenizer bytes --out runs/kjv-refs-bytes --valid-fraction 0.05)
#   START_DIR      the start models (default runs/gpu-start): v6 and v3 are session 18's runs
#                  (docs/results.md, its Commands), n2w128 is session 17's near2-k8 with
#                  "slide_window": 128, Bc is session 19's runs/c19/Bc; each holds
#                  config.json (chunk_topk 8), model.safetensors and tokenizer.json
#   RUN_DIR        where models and logs go (default runs/tiny-window-gpu; not OUT: the device
#                  tool sets OUT to its return folder)
#   TIME SNAP      seconds each run trains (default 400), between snapshots (default 100)
#   THREADS        CPU threads per run (default 2)
#   RUNS           which runs (default: session 19's seven; e.g. RUNS="s-split2 s-lr5 ...")
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
drt="${DRT_BUILD_DIR:-${repo}/build-cuda}/drt"
out="${RUN_DIR:-${repo}/runs/tiny-window-gpu}"
data="${DATA:-${repo}/runs/kjv-refs-bytes}"
start="${START_DIR:-${repo}/runs/gpu-start}"
time_limit="${TIME:-400}"
snap="${SNAP:-100}"
read -r -a runs <<< "${RUNS:-mix mix-lr3 mix-near4 long-near long n2-mix v3-mix}"
[ -x "${drt}" ] || { echo "no drt at ${drt} (run scripts/build_cuda.sh first)" >&2; exit 1; }
[ -f "${data}/manifest.json" ] || { echo "no prepared corpus at ${data} (see the header)" >&2; exit 1; }
mkdir -p "${out}"
# The copy probe's optimizer: constant lr, no weight decay, no clipping.
common=(--data "${data}" --task passkey --weight-decay 0 --clip 0 --warmup 0 --needle-depths 0,1
        --eval-every 100 --save-every 50 --steps 100000 --seed 7 --time-limit "${time_limit}"
        --threads "${THREADS:-2}" --device "${DEVICE:-cuda}" --quiet)
short_long=(--batch 16 --seq-len 189,252,2016,4032,8064,16128)
long_only=(--batch 16 --seq-len 2016,4032,8064,16128)
short=(--batch 32 --seq-len 189,252,378,504)
near3=(--near-needles 0.3)

args_of() {  # args_of NAME: the start model and the flags of one run
  case "$1" in
    mix)       echo "${start}/v6 ${short_long[*]} --near-needles 0.2 --lr 1e-3 --min-lr 1e-3" ;;
    mix-lr3)   echo "${start}/v6 ${short_long[*]} --near-needles 0.2 --lr 3e-3 --min-lr 3e-3" ;;
    mix-near4) echo "${start}/v6 ${short_long[*]} --near-needles 0.4 --lr 1e-3 --min-lr 1e-3" ;;
    long-near) echo "${start}/v6 ${long_only[*]} --near-needles 0.2 --lr 1e-3 --min-lr 1e-3" ;;
    long)      echo "${start}/v6 ${long_only[*]} --lr 1e-3 --min-lr 1e-3" ;;
    n2-mix)    echo "${start}/n2w128 ${short_long[*]} --near-needles 0.2 --lr 1e-3 --min-lr 1e-3" ;;
    v3-mix)    echo "${start}/v3 ${short_long[*]} --near-needles 0.2 --lr 1e-3 --min-lr 1e-3" ;;
    s-split2)  echo "${start}/Bc ${short[*]} ${near3[*]} --split-needles 0.2 --lr 1e-3 --min-lr 1e-3" ;;
    s-lr5)     echo "${start}/Bc ${short[*]} ${near3[*]} --split-needles 0.2 --lr 5e-4 --min-lr 5e-4" ;;
    s-split4)  echo "${start}/Bc ${short[*]} ${near3[*]} --split-needles 0.4 --lr 1e-3 --min-lr 1e-3" ;;
    s-near5)   echo "${start}/Bc ${short[*]} --near-needles 0.5 --split-needles 0.2 --lr 1e-3 --min-lr 1e-3" ;;
    s-wide)    echo "${start}/Bc --batch 32 --seq-len 189,252,504,1008 ${near3[*]} --split-needles 0.3 --lr 1e-3 --min-lr 1e-3" ;;
    s-long)    echo "${start}/Bc --batch 32 --seq-len 189,252,504,2016,4032 ${near3[*]} --split-needles 0.2 --lr 1e-3 --min-lr 1e-3" ;;
    s-ctl)     echo "${start}/Bc --batch 32 --seq-len 189,252 ${near3[*]} --lr 1e-3 --min-lr 1e-3" ;;
    *) echo "unknown run '$1' (see the header)" >&2; return 1 ;;
  esac
}

pids=()
for name in "${runs[@]}"; do
  read -r -a a <<< "$(args_of "${name}")"
  [ -f "${a[0]}/model.safetensors" ] || { echo "no start model ${a[0]}" >&2; exit 1; }
  "${drt}" train --model "${a[0]}" --out "${out}/${name}" "${common[@]}" "${a[@]:1}" > "${out}/${name}.log" 2>&1 &
  pids+=($!)
done
# Snapshots while the runs train: the last checkpoint's weights every SNAP seconds.
(
  t=0
  while sleep "${snap}"; do
    t=$((t + snap))
    for name in "${runs[@]}"; do
      [ -f "${out}/${name}/model.safetensors" ] || continue
      mkdir -p "${out}/${name}.snap/${t}"
      cp "${out}/${name}/config.json" "${out}/${name}/tokenizer.json" "${out}/${name}/model.safetensors" \
        "${out}/${name}.snap/${t}/" 2>/dev/null || true
    done
  done
) &
snapper=$!
rc=0
for p in "${pids[@]}"; do wait "${p}" || rc=1; done
kill "${snapper}" 2>/dev/null || true
for name in "${runs[@]}"; do
  log="${out}/${name}/train_log.jsonl"
  [ -f "${log}" ] || { echo "${name}: no log"; tail -n 5 "${out}/${name}.log"; continue; }
  echo "${name}: $(wc -l < "${log}") steps, eval loss $(grep -o '"eval_loss":[0-9.]*' "${log}" | cut -d: -f2 | tr '\n' ' ')"
done
exit "${rc}"
