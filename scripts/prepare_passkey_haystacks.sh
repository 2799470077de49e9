#!/usr/bin/env bash
# The training texts of the tiny passkey model's later stages (docs/results.md, sessions 18
# to 20), byte-tokenized, for `drt train --task passkey --data DIR`: the synthetic samples'
# haystack is drawn from DIR's training split. The evaluation's haystack, the Brown corpus,
# is in neither, so every passkey result stays on unseen text.
#   runs/kjv-refs-bytes       the King James Bible with its verse numbers (`bible -f`
#                             prints "Ge1:1 In the beginning..."): numbers in the haystack,
#                             so that a number in the window is not always the answer
#   runs/kjv-fortunes-bytes   the same plus Debian's fortune files (2.5 MB of quotations,
#                             jokes, definitions and lines of modern English, some with
#                             numbers): a second kind of text, because models that saw one
#                             read far needles worse in Brown's contexts than in the KJV's
#                             (session 20)
# The KJV alone is one document (its validation split is its last 5% of tokens, as
# docs/results.md's commands made it); in the mix each text is cut into 200 KB documents,
# so that the 5% validation split holds out documents, not one of the two texts whole.
# Installs bible-kjv and fortunes (apt) when missing.
#   DRT_BUILD_DIR  build directory holding drt (default build)
#   RUNS_DIR       where the prepared directories go (default runs)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
drt="${DRT_BUILD_DIR:-${repo}/build}/drt"
runs="${RUNS_DIR:-${repo}/runs}"
fortunes=/usr/share/games/fortunes
[ -x "${drt}" ] || { echo "no drt at ${drt} (build first: bash scripts/setup.sh)" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v bible >/dev/null 2>&1 || [ ! -f "${fortunes}/fortunes" ]; then
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq bible-kjv fortunes >/dev/null
fi

src="$(mktemp -d)"
trap 'rm -rf "${src}"' EXIT
mkdir -p "${src}/mix" "${runs}"
bible -f Gen1:1-Rev22:21 > "${src}/kjv-with-verse-numbers.txt"
# The fortune files: plain text, one entry per "%" line; the two ASCII-art files are left
# out (pictures, not prose).
for f in "${fortunes}"/*; do
  case "$(basename "${f}")" in *.dat | *.u8 | art | ascii-art) continue ;; esac
  [ -f "${f}" ] && sed 's/^%$//' "${f}"
done > "${src}/fortunes.txt"
split -C 200k -d -a 3 "${src}/kjv-with-verse-numbers.txt" "${src}/mix/kjv-"
split -C 200k -d -a 3 "${src}/fortunes.txt" "${src}/mix/fortunes-"
"${drt}" prepare --input "${src}/kjv-with-verse-numbers.txt" --tokenizer bytes --out "${runs}/kjv-refs-bytes" \
  --valid-fraction 0.05 --quiet
"${drt}" prepare --input "${src}/mix" --tokenizer bytes --out "${runs}/kjv-fortunes-bytes" --valid-fraction 0.05 --quiet
