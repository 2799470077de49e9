#!/usr/bin/env bash
# The evaluations of docs/results.md: passkey accuracy at 1x .. 1000x the training length
# (T_train = 1008 tokens) for the small DRT and its sliding-window baseline, 6 depths x 20
# trials per length, on a haystack neither saw in training (the Brown corpus); streaming
# perplexity by position on the held-out books of the KJV; one plot of each.
#   $1  DRT model directory       (default models/drt-small)
#   $2  baseline model directory  (default runs/window-small-bf16, from scripts/train_small.sh)
#   DRT_EVAL_TRIALS  trials per (length, depth) (default 20)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
drt="${DRT_BUILD_DIR:-${repo}/build}/drt"
drt_model="${1:-${repo}/models/drt-small}"
window_model="${2:-${repo}/runs/window-small-bf16}"
out="${repo}/runs/results"
mkdir -p "${out}"
lengths=1008,4032,16128,64512,258048,1008000   # 1x 4x 16x 64x 256x 1000x T_train
depths=0,0.2,0.4,0.6,0.8,1
trials="${DRT_EVAL_TRIALS:-20}"
for m in drt window; do
  model="${drt_model}"; [ "${m}" = window ] && model="${window_model}"
  "${drt}" eval passkey --model "${model}" --haystack brown --lengths "${lengths}" --depths "${depths}" \
    --trials "${trials}" --memory-dtype bf16 --json "${out}/passkey-${m}.json" | tee "${out}/passkey-${m}.txt"
  "${drt}" eval ppl --model "${model}" --data "${repo}/runs/kjv-bytes" --json "${out}/ppl-${m}.json" \
    | tee "${out}/ppl-${m}.txt"
done
# Perplexity after phase 1 (language modelling) too, when those checkpoints are here.
if [ -f "${repo}/runs/drt-small/model.safetensors" ] && [ -f "${repo}/runs/window-small/model.safetensors" ]; then
  for m in drt window; do
    "${drt}" eval ppl --model "${repo}/runs/${m}-small" --data "${repo}/runs/kjv-bytes" \
      --json "${out}/ppl-${m}-phase1.json" | tee "${out}/ppl-${m}-phase1.txt"
  done
fi
for metric in accuracy token_accuracy; do
  "${drt}" eval plot --inputs "${out}/passkey-drt.json,${out}/passkey-window.json" --labels "DRT,sliding window" \
    --metric "${metric}" --title "passkey ${metric}, T_train = 1008 (Brown haystack, 6 depths x ${trials} trials)" \
    --out "${out}/passkey-${metric}.png"
done
"${drt}" eval plot --inputs "${out}/passkey-drt.json" --labels "DRT" --metric retrieval_rate \
  --title "needle chunk among the question's retrievals" --out "${out}/passkey-retrieval.png"
"${drt}" eval plot --inputs "${out}/ppl-drt.json,${out}/ppl-window.json" --labels "DRT,sliding window" \
  --title "perplexity by position, held-out KJV books" --out "${out}/ppl-position.png"
