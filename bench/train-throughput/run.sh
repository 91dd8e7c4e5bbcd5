#!/usr/bin/env bash
# Training throughput, VitSharp vs PyTorch 1.13 (Debian), the shipped Fashion-MNIST model (models/fmnist-hybrid-multires), batch 128, 2 threads,
# its base steps (28x28; crop padding 2 + flip, label smoothing 0.1, no drop path, no mixup/cutmix, no multi-resolution).
# Runs VitSharp first, then PyTorch, back to back. Logs go to $OUT (default /tmp/train-throughput).
# CONFIG=path/model.json measures another architecture (both sides read it; a conv stem with BatchNorm or LayerNorm2d works).
# ATTENTION=fused|math times VitSharp with that attention kernel instead of its default, auto.
# PRECISION=bf16 times bf16 mixed precision on both sides (VitSharp --precision bf16, PyTorch torch.autocast); it pays
# only on CPUs with AVX-512-BF16 or AMX.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${OUT:-/tmp/train-throughput}"
CONFIG="${CONFIG:-$ROOT/models/fmnist-hybrid-multires/model.json}"
MODEL="$(basename "$(dirname "$CONFIG")")"
# The training step times one 300-step epoch of the full Fashion-MNIST; with only the bundled 1000-image sample it would
# time 7 steps and its parser would find nothing to read.
[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || { echo "install dataset-fashion-mnist (apt-get install dataset-fashion-mnist) for the training benchmark" >&2; exit 1; }
mkdir -p "$OUT"
# Both sides keep freed tensor memory for reuse, as the vitsharp command does in-process (src/VitSharp/Native/NativeHeap.cs).
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=67108864
date -u; lscpu | head -20 > "$OUT/lscpu.txt"

# --- VitSharp: one 300-step epoch (38400 images / 128) ----------------------------------------------------------
rm -rf "$OUT/vitsharp-run"
"$ROOT/vitsharp" train --dataset fashion-mnist --config "$CONFIG" --out "$OUT/vitsharp-run" \
  --epochs 1 --limit-train 38400 --limit-test 100 --batch 128 --lr 1e-3 --warmup-epochs 0.1 --mixup 0 --cutmix 0 \
  --crop-padding 2 --flip --drop-path 0 --threads 2 --attention "${ATTENTION:-auto}" --precision "${PRECISION:-fp32}" 2>&1 | tr '\r' '\n' | tee "$OUT/vitsharp.log"
# Epoch img/s = images / seconds inside Trainer.Step, over all 300 steps (step 1 included, ~10 s of warm-up).
# Progress lines carry the cumulative rate after step k, so T_k = 128*k/rate_k; steady rate = from the first
# progress line at step >= 10 to the epoch end (300 steps; progress lines come every 10 s, and a
# 70-step epoch ended before the first on a fast machine). Rates are printed as integers, so this is +-1 %.
python3 - "$OUT/vitsharp.log" "$MODEL" "${ATTENTION:-auto}" "${PRECISION:-fp32}" <<'PY'
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
prog = [(int(m[1]), float(m[2])) for l in lines if (m := re.search(r"step (\d+)/\d+ .* (\d+) img/s", l))]
ep = [float(m[1]) for l in lines if (m := re.search(r"^epoch \d+: .*, (\d+) img/s", l))][-1]
steps = 300; B = 128
k, rk = next((k, r) for k, r in prog if k >= 10)
tk, tn = B * k / rk, B * steps / ep
print(json.dumps({"framework": "vitsharp", "model": sys.argv[2], "attention": sys.argv[3], "precision": sys.argv[4], "threads": 2, "batch": B, "images_per_s_epoch_all_steps": ep,
                  "images_per_s_after_step": k, "images_per_s": round(B * (steps - k) / (tn - tk), 1)}))
PY

# --- PyTorch: 10 warm-up + 60 timed steps -------------------------------------------------------------------------
OB=/usr/lib/x86_64-linux-gnu/openblas-openmp
LD_LIBRARY_PATH=$OB OPENBLAS_CORETYPE=Haswell OMP_NUM_THREADS=2 /usr/bin/python3 "$HERE/train_pytorch.py" --config "$CONFIG" --precision "${PRECISION:-fp32}" --label openblas-openmp-haswell | tee "$OUT/pytorch-openblas.json"
# Reference (netlib) BLAS, what Debian's torch gets without OpenBLAS; fewer steps because it is slow. SKIP_REFBLAS=1 skips it.
[ "${SKIP_REFBLAS:-0}" = 1 ] && exit 0
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas OMP_NUM_THREADS=2 timeout 180 /usr/bin/python3 "$HERE/train_pytorch.py" --config "$CONFIG" \
  --warmup 2 --steps 10 --label reference-blas | tee "$OUT/pytorch-refblas.json" || echo "reference-BLAS run timed out"
