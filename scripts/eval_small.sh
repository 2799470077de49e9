#!/usr/bin/env bash
# The evaluations of docs/results.md: the four models scripts/train_small.sh makes on the CPU
#   drt-lm     runs/drt-small-bf16          DRT after phase 1 (language modelling)
#   window-lm  runs/window-small-bf16       its sliding-window baseline, same phase
#   drt-ft     runs/drt-small-ft-bf16       DRT after phase 2 (passkey fine-tune)
#   window-ft  runs/window-small-ft-bf16    the baseline after phase 2
# and the two scripts/train_small_gpu.sh makes, where they exist:
#   drt-gpu    models/drt-small-lm          DRT, 77M tokens on a GPU (shipped)
#   window-gpu runs/gpu/window-small-bf16   its baseline
# Passkey accuracy at 1x .. 1000x the training length (T_train = 1008 tokens), 6 depths x
# 20 trials per length, on a haystack no model saw in training (the Brown corpus); streaming
# perplexity by position on the held-out books of the KJV; plots of both.
#   DRT_EVAL_TRIALS  trials per (length, depth) (default 20)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
drt="${DRT_BUILD_DIR:-${repo}/build}/drt"
out="${repo}/runs/results"
mkdir -p "${out}"
lengths=1008,4032,16128,64512,258048,1008000   # 1x 4x 16x 64x 256x 1000x T_train
depths=0,0.2,0.4,0.6,0.8,1
trials="${DRT_EVAL_TRIALS:-20}"
declare -A dirs=([drt-lm]="${repo}/runs/drt-small-bf16" [window-lm]="${repo}/runs/window-small-bf16"
                 [drt-ft]="${repo}/runs/drt-small-ft-bf16" [window-ft]="${repo}/runs/window-small-ft-bf16"
                 [drt-gpu]="${repo}/models/drt-small-lm" [window-gpu]="${repo}/runs/gpu/window-small-bf16")
for m in drt-lm window-lm drt-ft window-ft drt-gpu window-gpu; do
  if [ ! -f "${dirs[$m]}/model.safetensors" ]; then echo "skipping ${m}: no ${dirs[$m]}"; continue; fi
  "${drt}" eval passkey --model "${dirs[$m]}" --haystack brown --lengths "${lengths}" --depths "${depths}" \
    --trials "${trials}" --memory-dtype bf16 --json "${out}/passkey-${m}.json" | tee "${out}/passkey-${m}.txt"
  "${drt}" eval ppl --model "${dirs[$m]}" --data "${repo}/runs/kjv-bytes" --json "${out}/ppl-${m}.json" \
    | tee "${out}/ppl-${m}.txt"
done
labels="DRT (phase 1),window (phase 1),DRT (phase 2),window (phase 2)"
inputs="${out}/passkey-drt-lm.json,${out}/passkey-window-lm.json,${out}/passkey-drt-ft.json,${out}/passkey-window-ft.json"
for metric in accuracy token_accuracy; do
  "${drt}" eval plot --inputs "${inputs}" --labels "${labels}" --metric "${metric}" \
    --title "passkey ${metric}, mean over 6 depths x ${trials} trials" \
    --out "${out}/passkey-${metric}.png"
done
"${drt}" eval plot --inputs "${out}/passkey-drt-lm.json,${out}/passkey-drt-ft.json" \
  --labels "DRT (phase 1),DRT (phase 2)" --metric retrieval_rate \
  --title "needle chunk among the question's retrievals" --out "${out}/passkey-retrieval.png"
"${drt}" eval plot --inputs "${out}/ppl-drt-lm.json,${out}/ppl-window-lm.json" --labels "DRT,sliding window" \
  --title "perplexity by position, held-out KJV (phase 1)" --out "${out}/ppl-position.png"
if [ -f "${out}/ppl-drt-gpu.json" ] && [ -f "${out}/ppl-window-gpu.json" ]; then
  "${drt}" eval plot --inputs "${out}/ppl-drt-gpu.json,${out}/ppl-window-gpu.json" --labels "DRT,sliding window" \
    --title "perplexity by position, held-out KJV (77M tokens, GPU)" --out "${out}/ppl-position-gpu.png"
fi
