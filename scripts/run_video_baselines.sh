#!/usr/bin/env bash
# The offline video leaderboard: identity, an image codec and a discrete image tokenizer frame by frame, and
# H.264 at two CRFs on the generated video-samples at short side 256 (docs/video.md). Rerun after a protocol or suite change, then
# regenerate the leaderboard (scripts/make_leaderboard.sh) and commit both.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/video-baselines
rm -rf "$out"  # every file is made anew: no result of an older protocol or suite version stays behind
run() { tokbench run --model "$1" --suite text,face,recon,temporal --dataset video-samples --resolution 256 --output-dir "$out"; }
run identity
run jpeg:quality=30  # per-frame mode: each frame through Pillow's JPEG on its own
run h264:crf=23      # imageio's default, the rate of TokBench-video's storage step
run h264:crf=35
run kmeans-vq        # a discrete tokenizer per frame: its token statistics too
tokbench run --model kmeans-vq --suite language --dataset video-samples --resolution 256 --output-dir "$out"
