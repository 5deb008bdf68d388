#!/usr/bin/env bash
# Regenerate results/leaderboard/ from the committed result files (never recomputes a number).
set -euo pipefail
cd "$(dirname "$0")/.."
tokbench report results/baselines --format md,csv,html --output-dir results/leaderboard --with-published
# legibility / identity thresholds of the sweep baselines (scripts/run_sweep_baselines.sh; docs/sweep.md)
rm -rf results/leaderboard/sweep
# --mix-protocols: each model gets the set drawn on its own patch grid (kmeans-vq p=8, the others 16), so
# the generated sets differ by design; every threshold is also given against the ceiling of its own set
tokbench report results/sweep --format md,csv --output-dir results/leaderboard/sweep --mix-protocols
# the video table: offline video baselines (scripts/run_video_baselines.sh) beside TokBench-video's published rows
rm -rf results/leaderboard/video
tokbench report results/video-baselines --format md,csv --output-dir results/leaderboard/video --with-published
# the same tables as a static multi-page site (per-model and per-dataset pages, changelog, raw files)
rm -rf results/leaderboard/site
tokbench report results/baselines --format site --output-dir results/leaderboard/site --with-published
