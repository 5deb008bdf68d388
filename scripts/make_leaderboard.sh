#!/usr/bin/env bash
# Regenerate results/leaderboard/ from the committed result files (never recomputes a number).
set -euo pipefail
cd "$(dirname "$0")/.."
tokbench report results/baselines --format md,csv,html --output-dir results/leaderboard --with-published
