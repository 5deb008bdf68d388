#!/usr/bin/env bash
# The project's own offline leaderboard: classical baselines and kmeans-vq on the embedded samples.
# Rerun after a protocol or suite change, then regenerate the leaderboard (last line) and commit both.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/baselines
suites=text,face,recon,fid
run() { tokbench run --model "$1" --suite "$2" --resolution "${3:-256}" --output-dir "$out" --suite-arg recon:lpips=none; }
run identity "$suites"
# codecs at tokenizer-like rates: downscale 4x, then a bit budget per canvas pixel
run jpeg:bpp=0.1,down=4 "$suites"
run webp:bpp=0.1,down=4 "$suites"
run avif:bpp=0.1,down=4 "$suites"
run jpeg2000:bpp=0.1,down=4 "$suites"
run kmeans-vq:p=8,K=256 "$suites,language"
run kmeans-vq:p=8,K=1024 "$suites,language"
# the first learned tokenizer: TAEF2's real weights (madebyollin/taesd files, kept beside the project in ../shared)
run taef2:source=../shared/upstream/taesd "$suites" 256,512
# rate-distortion (docs/rd.md): codec curves on the samples with the baselines placed on them. The grid points'
# own result files go to a scratch folder; the rd file and its plots are what the leaderboard reads.
tokbench rd --model identity,jpeg:bpp=0.1,down=4,webp:bpp=0.1,down=4,avif:bpp=0.1,down=4,jpeg2000:bpp=0.1,down=4 \
  --model kmeans-vq:p=8,K=256 --model kmeans-vq:p=8,K=1024 --suite text,face,recon --suite-arg recon:lpips=none \
  --grid 0.03,0.1,0.3,1 --downs 1,4 --output-dir "${TMPDIR:-/tmp}/tokbench-rd-points" --rd-file "$out/rd/samples-256.rd.json"
bash scripts/make_leaderboard.sh
