#!/usr/bin/env bash
# The main job: set up and build drt, then ask the trained small DRT shipped in
# models/drt-small (trained on the King James Bible at 1008 tokens; docs/results.md says
# how) for a passkey hidden deep in a long haystack of text it never saw (the Brown
# corpus). It prints the passkey, the model's answer and whether it is right, the chunks
# that retrieval fetched for the question (a model that has learned the task ranks the
# needle's chunk among them), tokens/s, and the peak memory, with the chunk memory in a
# file on disk. This model has not learned the task yet (docs/results.md: why, and what
# would close it); the job shows what drt does at this length either way.
#   DRT_MAIN_LENGTH  haystack length in tokens (default 512k)
#   DRT_MAIN_DEPTH   where the needle sits, 0 = first token, 1 = just before the question (default 0.1)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "${repo}/scripts/setup.sh"
drt="${DRT_BUILD_DIR:-${repo}/build}/drt"
runs="${repo}/runs"
mkdir -p "${runs}"

echo
echo "== a passkey in ${DRT_MAIN_LENGTH:-512k} tokens of unseen text, read by models/drt-small =="
"${drt}" eval passkey --model "${repo}/models/drt-small" --haystack brown \
  --lengths "${DRT_MAIN_LENGTH:-512k}" --depths "${DRT_MAIN_DEPTH:-0.1}" --trials 1 --seed 1 \
  --read full --show --memory "disk:${runs}/main-passkey.mem" --memory-dtype bf16 \
  --json "${runs}/main-passkey.json"
rm -f "${runs}/main-passkey.mem"
echo
echo "Full evaluations (1x to 1000x the training length, the sliding-window baseline, perplexity):"
echo "docs/results.md and scripts/eval_small.sh."
