#!/usr/bin/env bash
# Text copying on a GPU: the first step of docs/results.md's "What would close it" item 11.
# Retrieval takes no part in the shipped model's language modelling because the model copies
# no text, not even inside its window (`drt probe induction`). These runs train `--task
# repeat` (a passage of the training text, then the same passage again: the second half is
# predictable only by copying) side by side on one GPU, for TIME seconds each, and then ask
# each model with `drt probe induction` whether it copies letters and text inside its window,
# and text beyond the windows' reach, where only retrieval and GCA can carry it:
#   tiny-near  from the recipe's DRT (START: lm-cool2, d = 64, W = 128, k = 2), T = 189, 252
#              (the copy's source 94-126 tokens back: inside the window)
#   tiny-far   the same start, T = 1008, 2016 (504-1008 tokens back: beyond the three
#              windows' reach of 384, so only GCA can copy)
#   tiny-both  the same start, T drawn from 189, 252, 1008, 2016 (near and far at once)
#   d128-near  d = 128, 4 heads, W = 256 (CONFIG128) from scratch, T = 189, 252
#   small-near configs/small.json (d = 256, 8 heads, W = 512, 6 layers) from scratch,
#              T = 189, 252 (session 12: this size formed a letter copy at T = 189 on a GPU)
#   d128-far   from d128-near (START128), T = 1008, 2016: 504-1008 tokens back, beyond one
#              window (256) and, from 768 on, beyond the three windows' reach
#   d128-both  from d128-near, T drawn from 189, 252, 1008, 2016
# Session 27 ran it on an H200 (docs/results.md, "Text copying on a GPU"): the first five for
# 230 s (1,700-2,200 steps each), then d128-far and d128-both for 150 s. d = 128 and 256 from
# scratch copy text inside the window (second copy 0.06-0.11 nats against 1.2-1.3); the
# d = 64 recipe model does not, in any layout; and no model copies text from beyond one
# window at unaligned distances, although d128-far's eval loss, whose copies lie a whole
# number of chunks back (T/2 = 504 or 1008 = 8 or 16 x 63), fell to 0.53. Next: T whose
# half is not a multiple of S (e.g. --seq-len 1000,1100,1300,1700,2000), probed at aligned
# and unaligned lengths.
#   DRT_BUILD_DIR  build directory holding drt (default build-cuda: scripts/build_cuda.sh)
#   DEVICE         cuda (default), or cpu for a smoke run
#   DATA           a byte-tokenized corpus (default runs/kjv-bytes)
#   START          the recipe's DRT to start the tiny runs from (default runs/r26/lm-cool2)
#   CONFIG128      the d = 128 config (default runs/r26/d128.json; docs/results.md session 26)
#   START128       the d128-near run to start d128-far and d128-both from (default RUN_DIR/d128-near)
#   RUN_DIR        where models, logs and probe results go (default runs/text-copy-gpu)
#   TIME           seconds each run trains (default 240); THREADS CPU threads per run (2)
#   RUNS           which runs (default: all five)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
drt="${DRT_BUILD_DIR:-${repo}/build-cuda}/drt"
out="${RUN_DIR:-${repo}/runs/text-copy-gpu}"
data="${DATA:-${repo}/runs/kjv-bytes}"
start="${START:-${repo}/runs/r26/lm-cool2}"
config128="${CONFIG128:-${repo}/runs/r26/d128.json}"
start128="${START128:-${out}/d128-near}"
read -r -a runs <<< "${RUNS:-tiny-near tiny-far tiny-both d128-near small-near}"
[ -x "${drt}" ] || { echo "no drt at ${drt} (run scripts/build_cuda.sh first)" >&2; exit 1; }
[ -f "${data}/manifest.json" ] || { echo "no prepared corpus at ${data} (drt prepare)" >&2; exit 1; }
mkdir -p "${out}"
# The copy probe's optimizer: constant lr, no weight decay, no clipping.
common=(--data "${data}" --task repeat --weight-decay 0 --clip 0 --warmup 0 --batch 32
        --eval-every 200 --save-every 100 --steps 100000 --seed 11 --time-limit "${TIME:-240}"
        --threads "${THREADS:-2}" --device "${DEVICE:-cuda}" --quiet)
args_of() {  # args_of NAME: the start (--model DIR or --config FILE) and the flags of one run
  case "$1" in
    tiny-near)  echo "--model ${start} --seq-len 189,252 --lr 1e-3 --min-lr 1e-3" ;;
    tiny-far)   echo "--model ${start} --seq-len 1008,2016 --lr 1e-3 --min-lr 1e-3" ;;
    tiny-both)  echo "--model ${start} --seq-len 189,252,1008,2016 --lr 1e-3 --min-lr 1e-3" ;;
    d128-near)  echo "--config ${config128} --seq-len 189,252 --lr 2e-3 --min-lr 2e-3" ;;
    small-near) echo "--config ${repo}/configs/small.json --seq-len 189,252 --lr 1e-3 --min-lr 1e-3" ;;
    d128-far)   echo "--model ${start128} --seq-len 1008,2016 --lr 1e-3 --min-lr 1e-3" ;;
    d128-both)  echo "--model ${start128} --seq-len 189,252,1008,2016 --lr 1e-3 --min-lr 1e-3" ;;
    *) echo "unknown run '$1' (see the header)" >&2; return 1 ;;
  esac
}
for name in "${runs[@]}"; do args_of "${name}" > /dev/null || exit 1; done  # every name known before any run starts
pids=()
for name in "${runs[@]}"; do
  read -r -a a <<< "$(args_of "${name}")"
  "${drt}" train "${a[@]}" --out "${out}/${name}" "${common[@]}" > "${out}/${name}.log" 2>&1 &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "${p}" || rc=1; done
# The probes, on the CPU, side by side: letters (60 back) and text (100 back) inside every
# window; text 600 tokens back, beyond the tiny model's windows' reach (3 x 128) and beyond
# one window of the others; text 1000 back, beyond the d = 128 model's reach (3 x 256) too.
probe() {  # probe NAME TAG FLAGS...
  local name=$1 tag=$2; shift 2
  "${drt}" probe induction --model "${out}/${name}" --threads 2 --trials 16 --out "${out}/${name}.${tag}.json" "$@" \
    > "${out}/${name}.${tag}.log" 2>&1 || echo "${name}: probe ${tag} failed"
}
for name in "${runs[@]}"; do
  [ -f "${out}/${name}/model.safetensors" ] || continue
  { probe "${name}" letters --length 60; probe "${name}" text100 --text kjv --length 100
    probe "${name}" text600 --text kjv --length 600; probe "${name}" text1000 --text kjv --length 1000; } &
done
wait
for name in "${runs[@]}"; do
  log="${out}/${name}/train_log.jsonl"
  [ -f "${log}" ] || { echo "${name}: no log"; tail -n 5 "${out}/${name}.log"; continue; }
  echo "== ${name}: $(grep -c '"step"' "${log}") steps, eval loss $(grep -o '"eval_loss":[0-9.]*' "${log}" | cut -d: -f2 | tr '\n' ' ')"
  for tag in letters text100 text600 text1000; do
    [ -f "${out}/${name}.${tag}.log" ] && { echo "  probe ${tag}:"; grep -v "^$" "${out}/${name}.${tag}.log" | tail -n 4; }
  done
done
exit "${rc}"
