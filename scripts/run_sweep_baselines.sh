#!/usr/bin/env bash
# Legibility / identity thresholds (docs/sweep.md) of the offline baselines at 256 and 512, into results/sweep/.
# identity runs first: it fills the ceiling cache every later model reuses. Then regenerate the
# leaderboard (scripts/make_leaderboard.sh) and commit both.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/sweep
for model in identity jpeg:quality=5,down=4 kmeans-vq:p=8,K=256; do
  tokbench run --model "$model" --suite sweep --resolution 256,512 --output-dir "$out" --offline
done
