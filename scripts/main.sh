#!/usr/bin/env bash
# The main job: set up and build drt, then ask the trained DRT shipped in models/drt-small
# (a 0.20M-parameter DRT trained for passkeys, and last for language modelling too, on the
# King James Bible and Debian's fortune files at up to 16K tokens, from scratch on a 2-core
# CPU by scripts/train_tiny_passkey_cpu.sh; models/drt-small/README.md says how) for a
# passkey hidden deep in a long haystack of text it never saw (the Brown corpus). It prints
# the passkey, the model's answer and whether it is right, the chunk that retrieval fetched
# for the question (the needle's, when it works), tokens/s, and the peak memory, with the
# chunk memory in a file on disk. It asks at six depths, one full read each, the last (1.0)
# with the needle inside the window just before the question: the model found the passkey
# at all six here (docs/results.md has the whole grid, 16K to 16M tokens).
#   DRT_MAIN_LENGTH  haystack length in tokens (default 512k)
#   DRT_MAIN_DEPTH   where the needle sits, 0 = first token, 1 = just before the question; a
#                    list asks once per depth (default 0.1,0.3,0.5,0.7,0.9,1.0)
#   DRT_MAIN_MODEL   model directory (default models/drt-small; models/drt-tiny-passkey is the
#                    same shape made over fourteen stages, models/drt-small-lm a 6.35M
#                    language model that has not learned the passkey)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "${repo}/scripts/setup.sh"
drt="${DRT_BUILD_DIR:-${repo}/build}/drt"
runs="${repo}/runs"
mkdir -p "${runs}"

echo
model="${DRT_MAIN_MODEL:-${repo}/models/drt-small}"
echo "== a passkey in ${DRT_MAIN_LENGTH:-512k} tokens of unseen text, read by ${model#"${repo}/"} =="
"${drt}" eval passkey --model "${model}" --haystack brown \
  --lengths "${DRT_MAIN_LENGTH:-512k}" --depths "${DRT_MAIN_DEPTH:-0.1,0.3,0.5,0.7,0.9,1.0}" --trials 1 --seed 1 \
  --read full --show --memory "disk:${runs}/main-passkey.mem" --memory-dtype bf16 \
  --json "${runs}/main-passkey.json"
rm -f "${runs}/main-passkey.mem"
echo
echo "Full evaluations (1x to 1000x the training length, the sliding-window baseline, perplexity):"
echo "docs/results.md, scripts/train_tiny_passkey_cpu.sh (this model, from scratch) and scripts/eval_small.sh (models/drt-small-lm)."
