#!/usr/bin/env bash
# Sets up (packages, data, build) and runs the whole test suite with ctest.
# Extra arguments go to ctest, e.g. `bash scripts/test.sh -L model`.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "${repo}/scripts/setup.sh"
cd "${DRT_BUILD_DIR:-${repo}/build}"
ctest --output-on-failure --timeout 900 "$@"
