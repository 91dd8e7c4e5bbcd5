#!/usr/bin/env bash
# Regenerates the example pictures in docs/images from the Fashion-MNIST model VitSharp trained
# (models/fmnist-hybrid-multires) and Fashion-MNIST test images from Debian's dataset-fashion-mnist package.
# Run from the repository root:   bash tools/docs/make_example_pictures.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
model=models/fmnist-hybrid-multires/model.safetensors
out=docs/images
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 30 test images per class, in class folders named as the model's labels, and a few for the attention pictures.
/usr/bin/python3 - "$work" <<'PY'
import gzip, os, sys
import numpy as np
from PIL import Image
root = sys.argv[1]
d = "/usr/share/datasets/fashion-mnist"
images = np.frombuffer(gzip.open(f"{d}/t10k-images-idx3-ubyte.gz").read(), np.uint8, offset=16).reshape(-1, 28, 28)
labels = np.frombuffer(gzip.open(f"{d}/t10k-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
names = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
count = [0] * 10
for i, (x, y) in enumerate(zip(images, labels)):
    if count[y] < 30:
        os.makedirs(f"{root}/sweep/{names[y]}", exist_ok=True)
        Image.fromarray(x, "L").save(f"{root}/sweep/{names[y]}/{i:05d}.png")
        count[y] += 1
for i in (0, 1, 2, 8):  # the first test images of four classes: ankle boot, pullover, trouser, sandal
    Image.fromarray(images[i], "L").save(f"{root}/test-{i:05d}.png")
PY

./vitsharp posembed show --weights "$model" --out "$out/posembed-fmnist-7x7.png"
./vitsharp posembed show --weights "$model" --grid 14x21 --out "$out/posembed-fmnist-resampled-14x21.png"
# The model was trained at 28x28 (a 7x7 grid); run at 112x112 its table is resampled to 28x28 for finer maps.
./vitsharp attention "$work/test-00000.png" --weights "$model" --preset resize --img-size 112 --out "$work/attention-112" --threshold 0.6
cp "$work/attention-112/image.png" "$out/attention-boot-input.png"
cp "$work/attention-112/mean.png" "$out/attention-boot-mean.png"
cp "$work/attention-112/head-0.png" "$out/attention-boot-head-0.png"
cp "$work/attention-112/head-0-mask.png" "$out/attention-boot-head-0-mask.png"
./vitsharp resolution-sweep --weights "$model" --data "$work/sweep" --sizes 16 20 28 36 44 56 84 112 28x56 --out-prefix "$out/resolution-sweep"
./vitsharp classify --weights "$model" --preset resize --top-k 3 "$work"/test-*.png | sed "s|$work/||" > "$out/classify-example.txt"
