#!/usr/bin/env bash
# Regenerate results/leaderboard/ from the committed result files (never recomputes a number).
set -euo pipefail
cd "$(dirname "$0")/.."
tokbench report results/baselines --format md,csv,html --output-dir results/leaderboard --with-published
# the same tables as a static multi-page site (per-model and per-dataset pages, changelog, raw files)
rm -rf results/leaderboard/site
tokbench report results/baselines --format site --output-dir results/leaderboard/site --with-published
