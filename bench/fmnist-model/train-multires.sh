#!/usr/bin/env bash
# Trains the plain Fashion-MNIST ViT (config.json, the architecture of models/fmnist-vit-p4) with multi-resolution
# training: 10 % of the batches are resized to 56x56 (2x), so the model learns the 14x14 grid through its resampled
# position table. No shift or flip augmentation (the resizing is the augmentation). Then evaluates it at 28x28 and 56x56.
# Needs Debian's dataset-fashion-mnist. About 55 minutes on 2 cores; keep the machine otherwise idle for a fair time.
# The shipped model (models/fmnist-hybrid-multires) was trained by this script; its model card has the exact settings.
# EPOCHS (default 19), MULTI_RES (default 56), MULTI_RES_PROB (default 0.1), MULTI_RES_FROM (first epoch with resized batches, default 1), AUGMENT (default none; e.g. "--crop-padding 2 --flip",
# the shipped model's shift and flip), CONFIG (default config.json; e.g. config-hybrid-ln.json, the hybrid with a per-pixel
# LayerNorm stem), LIMIT_TEST (test images evaluated after each epoch; all 10,000 at the end) and OUT (default
# /tmp/fmnist-model; the run goes to $OUT/train-multires) override.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${OUT:-/tmp/fmnist-model}/train-multires"
EPOCHS="${EPOCHS:-19}"
CONFIG="${CONFIG:-$HERE/config.json}"
[ -e "$OUT/checkpoint.safetensors" ] && RESUME=--resume || RESUME=
LIMIT=${LIMIT_TEST:+--limit-test $LIMIT_TEST}
date -u
"$ROOT/vitsharp" train --dataset fashion-mnist --config "$CONFIG" --out "$OUT" $RESUME \
  --epochs "$EPOCHS" $LIMIT --batch 128 --lr 3e-3 --warmup-epochs 1 --weight-decay 0.05 --label-smoothing 0.1 \
  --mixup 0 --cutmix 0 --drop-path 0 ${AUGMENT:-} --multi-res ${MULTI_RES:-56} --multi-res-prob "${MULTI_RES_PROB:-0.1}" --multi-res-from-epoch "${MULTI_RES_FROM:-1}" --threads 2 --seed 0
for size in 28 56; do
  "$ROOT/vitsharp" eval --weights "$OUT/model.safetensors" --dataset fashion-mnist --size "$size" --json
done
date -u
