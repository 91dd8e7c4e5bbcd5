#!/usr/bin/env bash
# Trains the hybrid Fashion-MNIST ViT (convolutional stem, config-hybrid.json) from scratch into $OUT (default
# /tmp/fmnist-hybrid/train), then evaluates it on the 10,000 test images. Same recipe as train.sh, $EPOCHS epochs
# (default 23, the committed model's); CONFIG=FILE trains another architecture on the same recipe. LIMIT_TEST=N evaluates only N test images after each epoch (faster epochs);
# EXTRA adds switches of vitsharp train (e.g. EXTRA="--zoom 2 --zoom-prob 0.25");
# the last line is the evaluation on all 10,000.
# Needs Debian's dataset-fashion-mnist. About 55 minutes on 2 cores; keep the machine otherwise idle for a fair time.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${OUT:-/tmp/fmnist-hybrid}/train"
[ -e "$OUT/checkpoint.safetensors" ] && RESUME=--resume || RESUME=
EPOCHS="${EPOCHS:-23}"
CONFIG="${CONFIG:-$HERE/config-hybrid.json}"
LIMIT=${LIMIT_TEST:+--limit-test $LIMIT_TEST}
date -u
"$ROOT/vitsharp" train --dataset fashion-mnist --config "$CONFIG" --out "$OUT" $RESUME \
  --epochs "$EPOCHS" $LIMIT --batch 128 --lr 3e-3 --warmup-epochs 1 --weight-decay 0.05 --label-smoothing 0.1 \
  --mixup 0 --cutmix 0 --crop-padding 2 --flip --drop-path 0 ${EXTRA:-} --threads 2 --seed 0
"$ROOT/vitsharp" eval --weights "$OUT/model.safetensors" --dataset fashion-mnist --json
date -u
