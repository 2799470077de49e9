#!/usr/bin/env bash
# The evaluations of docs/results.md: passkey accuracy at 1x .. 1000x the training length
# (T_train = 1008 tokens) for the small DRT and its sliding-window baseline, 6 depths x 20
# trials per length, on a haystack neither saw in training (the Brown corpus); streaming
# perplexity by position on the held-out books of the KJV; one plot of each.
#   $1  DRT model directory       (default models/drt-small)
#   $2  baseline model directory  (default runs/window-small)
#   DRT_EVAL_TRIALS  trials per (length, depth) (default 20)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
drt="${DRT_BUILD_DIR:-${repo}/build}/drt"
drt_model="${1:-${repo}/models/drt-small}"
window_model="${2:-${repo}/runs/window-small}"
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
"${drt}" eval plot --inputs "${out}/passkey-drt.json,${out}/passkey-window.json" --labels "DRT,sliding window" \
  --title "passkey accuracy, T_train = 1008 (Brown haystack, 6 depths x ${trials} trials)" \
  --out "${out}/passkey-length.png"
"${drt}" eval plot --inputs "${out}/ppl-drt.json,${out}/ppl-window.json" --labels "DRT,sliding window" \
  --title "perplexity by position, held-out KJV books" --out "${out}/ppl-position.png"
