#!/usr/bin/env bash
# The copy probes of docs/results.md ("Where copying breaks"): tiny config, one retrieval
# group, batch 16, AdamW 3e-3. Each prints a table and writes runs/probe/<name>.json.
# About 50 minutes in all on 2 cores (the first five about 15). Usage: bash scripts/probe_copy.sh [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
DRT=${1:-build}/drt
mkdir -p runs/probe
probe() { local name=$1; shift; echo "== $name"; "$DRT" probe copy "$@" --out "runs/probe/$name.json"; }
# 1. The needle inside the question's own window (one attention hop away).
probe window --chunks 3 --needles 0:1 --eval-needles 0:1 --steps 1200
# 2. The needle beyond one window but inside the stacked windows; K = 2 fetches both past
#    chunks, so retrieval cannot miss. The paper's wiring, then GCA also into the residual.
probe gca --chunks 4 --needles 0:1 --eval-needles 0:1 --steps 2000
probe gca-residual --chunks 4 --needles 0:1 --eval-needles 0:1 --steps 2000 --gca-residual
#    The paper's wiring again, after 1200 steps with the needle in the chunk before the
#    question's (inside its window): copying on the short path first.
probe gca-near --chunks 4 --needles 0:1 --eval-needles 0:1 --steps 4000 --near-steps 1200 --eval-every 400
# 3. Needles anywhere in chunks 0..4 of 8; evaluated beyond the stacked windows, where only
#    retrieval + GCA reach. 400 curriculum steps with one repeated digit teach retrieval first.
probe retrieval --repeat-steps 400 --steps 2400
probe retrieval-residual --repeat-steps 400 --steps 2400 --gca-residual
# 4. Longer, and with half the samples still repeating one digit after the curriculum.
probe retrieval-8k --repeat-steps 400 --steps 8000 --eval-every 800
probe retrieval-residual-8k --repeat-steps 400 --steps 4800 --eval-every 800 --gca-residual
probe retrieval-share --repeat-steps 400 --repeat-share 0.5 --steps 4000 --eval-every 800
probe retrieval-residual-share --repeat-steps 400 --repeat-share 0.5 --steps 4000 --eval-every 800 --gca-residual
