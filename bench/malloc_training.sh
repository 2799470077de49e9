#!/usr/bin/env bash
# Training speed with drt's malloc settings (src/core/malloc_tuning.h) against glibc's own
# (DRT_MALLOC=system), measured in one run on the same model, data and batch: prints each
# one's median tokens/s and the ratio.
#   DRT_BUILD_DIR  build directory (default build)
#   DATA           prepared corpus (default runs/kjv-bytes; else this repository's docs, bytes)
#   CONFIG SEQ_LEN BATCH STEPS THREADS   the run (default configs/tiny-passkey.json, 4032, 16, 5, 1)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
drt="${DRT_BUILD_DIR:-${repo}/build}/drt"
tmp=$(mktemp -d)
trap 'rm -rf "${tmp}"' EXIT
data="${DATA:-${repo}/runs/kjv-bytes}"
if [ ! -f "${data}/manifest.json" ]; then
  data="${tmp}/docs-bytes"
  "${drt}" prepare --input "${repo}/README.md" "${repo}/docs" --tokenizer bytes --out "${data}" --valid-fraction 0.1 > /dev/null
fi
run() {  # run NAME [ENV...]: the median tokens/s of the steps after the first
  local name=$1; shift
  env "$@" "${drt}" train --config "${CONFIG:-${repo}/configs/tiny-passkey.json}" --data "${data}" --out "${tmp}/${name}" \
    --task passkey --seq-len "${SEQ_LEN:-4032}" --batch "${BATCH:-16}" --steps "${STEPS:-5}" --eval-batches 1 \
    --threads "${THREADS:-1}" --quiet > "${tmp}/${name}.log" 2>&1 || { tail -n 5 "${tmp}/${name}.log" >&2; exit 1; }
  grep -o '"tokens_per_s":[0-9.]*' "${tmp}/${name}/train_log.jsonl" | cut -d: -f2 | tail -n +2 | sort -g |
    awk '{ v[NR] = $1 } END { printf "%d\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
system=$(run system DRT_MALLOC=system)
tuned=$(run tuned)
echo "training, $(basename "${CONFIG:-tiny-passkey.json}") batch ${BATCH:-16} x ${SEQ_LEN:-4032}, ${THREADS:-1} thread(s), median tokens/s:"
printf '  %-22s %10s\n' "glibc defaults" "${system}" "drt's malloc settings" "${tuned}"
awk -v a="${tuned}" -v b="${system}" 'BEGIN { printf "  ratio %.2fx\n", a / b }'
