#!/usr/bin/env bash
# Trains the plain Fashion-MNIST ViT (models/fmnist-vit-p4, the default until 2026-11-28) from scratch, exactly as it was trained, into $OUT
# (default /tmp/fmnist-model/train), then evaluates it on the 10,000 test images.
# Needs Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist). About 55 minutes on 2 cores; keep the
# machine otherwise idle for a fair time. The shipped model is trained by train-multires.sh (models/fmnist-hybrid-multires/README.md).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${OUT:-/tmp/fmnist-model}/train"
[ -e "$OUT/checkpoint.safetensors" ] && RESUME=--resume || RESUME=
date -u
"$ROOT/vitsharp" train --dataset fashion-mnist --config "$HERE/config.json" --out "$OUT" $RESUME \
  --epochs 27 --batch 128 --lr 3e-3 --warmup-epochs 1 --weight-decay 0.05 --label-smoothing 0.1 \
  --mixup 0 --cutmix 0 --crop-padding 2 --flip --drop-path 0 --threads 2 --seed 0
"$ROOT/vitsharp" eval --weights "$OUT/model.safetensors" --dataset fashion-mnist --json
date -u
