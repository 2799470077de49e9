#!/usr/bin/env bash
# The main job: set up and build drt, train the tiny DRT on the King James Bible (byte
# tokenizer) for a few minutes, then use it: streaming perplexity on held-out chapters
# (by position bucket) and a generation that shows which past chunks it retrieved.
#   DRT_MAIN_STEPS   training steps (default 600, about a minute with OpenBLAS)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "${repo}/scripts/setup.sh"
build="${DRT_BUILD_DIR:-${repo}/build}"
drt="${build}/drt"
runs="${repo}/runs"
mkdir -p "${runs}"

if [ ! -f "${runs}/kjv-bytes/manifest.json" ]; then
  "${drt}" prepare --input kjv --tokenizer bytes --out "${runs}/kjv-bytes" --valid-fraction 0.05
fi
"${drt}" train --config tiny --data "${runs}/kjv-bytes" --out "${runs}/tiny-kjv" \
  --steps "${DRT_MAIN_STEPS:-600}" --seq-len 240 --batch 8 \
  --lr 3e-3 --min-lr 3e-4 --eval-every 100 --save-every 200

echo
echo "== streaming perplexity of the trained model on the held-out split =="
"${drt}" eval ppl --model "${runs}/tiny-kjv" --data "${runs}/kjv-bytes" --max-tokens 20k \
  --json "${runs}/tiny-kjv/ppl.json" --quiet
echo
echo "== generation (greedy), with the chunks each new chunk retrieved =="
"${drt}" generate --model "${runs}/tiny-kjv" --prompt "And God said unto Moses, " --max-new 60 --greedy \
  --show-retrieval
echo
echo "The model directory ${runs}/tiny-kjv holds the weights, train_log.jsonl, the loss curve loss.png"
echo "and ppl.json."
