#!/usr/bin/env bash
# bench/compare: VitSharp against PyTorch eager (Debian's 1.13), ONNX Runtime (C#, same weights exported by PyTorch)
# and a bare-TorchSharp control, back to back (each one's logits checked against PyTorch's before it is timed) for every configuration, plus the machine's matmul ceiling and the
# Fashion-MNIST training throughput; then writes docs/benchmarks.md. Results (JSON lines) go to $OUT.
#   bench/compare/run.sh                 # ~35 minutes on 2 cores (3 rounds of 3 s); keep the machine otherwise idle
#   SECONDS_PER_RUN=2 bench/compare/run.sh   # quicker, noisier
# ROUNDS (default 3): every configuration is timed in that many rounds, the four peers one after another in each round
# and in a rotated order from round to round, so a drift of the machine's speed hits every peer alike; docs/benchmarks.md
# reports the median of the rounds and the spread of the per-round ratios.
# ARCHS (default both) limits the models; PUBLISH=0 writes the report to $OUT/benchmarks.md instead of the repository's
# docs/benchmarks.md and bench/compare/latest (for a quick look: ARCHS=vit_small_patch16_224 ROUNDS=2 PUBLISH=0).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${OUT:-/tmp/bench-compare}"
THREADS="${THREADS:-$(nproc)}"
SECS="${SECONDS_PER_RUN:-3}"
ROUNDS="${ROUNDS:-3}"
ARCHS="${ARCHS:-vit_small_patch16_224 vit_base_patch16_224}"
PUBLISH="${PUBLISH:-1}"
mkdir -p "$OUT/models"
: > "$OUT/results.jsonl"
echo "{\"peer\":\"machine\",\"bf16_instructions\":$(grep -qw -E 'avx512_bf16|amx_bf16' /proc/cpuinfo && echo true || echo false)}" >> "$OUT/results.jsonl"

# PyTorch's fp32 matmuls go through the system BLAS: OpenBLAS (OpenMP build), told the CPU family because 0.3.21 does
# not recognise recent CPUs and falls back to SSE3 kernels (bench/README.md).
OPENBLAS=/usr/lib/x86_64-linux-gnu/openblas-openmp
# The training step times one 300-step epoch of the full Fashion-MNIST; with only the bundled 1000-image sample it would
# time 7 steps and its parser would find nothing to read.
[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || { echo "install dataset-fashion-mnist (apt-get install dataset-fashion-mnist) for the training benchmark" >&2; exit 1; }
[ -e "$OPENBLAS/libblas.so.3" ] || { echo "install libopenblas0-openmp (apt-get install libopenblas0-openmp) for a fair PyTorch" >&2; exit 1; }
if grep -qw avx512f /proc/cpuinfo; then CORETYPE=SkylakeX; else CORETYPE=Haswell; fi
# Every peer gets the allocator settings that the vitsharp command sets in-process (src/VitSharp/Native/NativeHeap.cs):
# glibc then keeps freed blocks up to 32 MiB for reuse instead of page-faulting every large tensor in afresh. PyTorch
# gained as much from them as VitSharp (ViT-S/16 at batch 8: 20-26 -> 32 images/s in one look), so no peer goes without.
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=67108864
pytorch() { LD_LIBRARY_PATH=$OPENBLAS OPENBLAS_CORETYPE=$CORETYPE OMP_NUM_THREADS=$THREADS /usr/bin/python3 "$@"; }

{ date -u +%Y-%m-%dT%H:%MZ; lscpu | grep -E "Model name|^CPU\(s\)|Flags" | sed 's/Flags:.*/Flags: '"$(grep -ow -E 'avx2|avx512f|avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"'/'; \
  /usr/bin/python3 -c "import torch; print('torch', torch.__version__)"; echo "dotnet $(dotnet --version)"; \
  echo "every peer: MALLOC_MMAP_THRESHOLD_=$MALLOC_MMAP_THRESHOLD_ MALLOC_TRIM_THRESHOLD_=$MALLOC_TRIM_THRESHOLD_ (glibc keeps freed tensors for reuse)"; } > "$OUT/machine.txt"
cat "$OUT/machine.txt"

dotnet build "$ROOT/src/VitSharp.Cli" -c Release -v q -nologo | tail -1
dotnet build "$HERE/Peers" -c Release -v q -nologo | tail -1
PEERS="$HERE/Peers/bin/Release/net10.0/Peers"
VITSHARP="$ROOT/src/VitSharp.Cli/bin/Release/net10.0/VitSharp.Cli"

echo "== weights, PyTorch check outputs and ONNX exports"
# The exports are reused only if they came from the same model code: after a change to the ViT or its seeded
# initialisation, stale ONNX files would hold other weights than the ones every other peer loads.
STAMP=$(cat "$HERE/peers.py" "$ROOT/bench/train-throughput/train_pytorch.py" | sha256sum | cut -d' ' -f1)
if [ ! -e "$OUT/models/vit_base_patch16_224_224x320.onnx" ] || [ "$(cat "$OUT/models/export.stamp" 2>/dev/null)" != "$STAMP" ]; then
  rm -f "$OUT/models/"*.onnx "$OUT/models/export.stamp"
  pytorch "$HERE/peers.py" --out "$OUT/models" --batch 1 --iterations 1 --seconds 0 --warmup 0 > /dev/null
  echo "$STAMP" > "$OUT/models/export.stamp"
fi

# bf16 only where the CPU has bf16 instructions: elsewhere libtorch falls back to scalar kernels (a 2048 bf16 matmul
# ran at about 0.1 GFLOP/s on an AVX2-only CPU), and the issue's bf16 targets are for AMX/AVX-512-BF16 CPUs.
if grep -qw -E 'avx512_bf16|amx_bf16' /proc/cpuinfo; then BF16=1; else BF16=0; echo "no AVX-512-BF16/AMX on this CPU: bf16 not measured"; fi
echo "== matmul ceiling"
"$PEERS" matmul --threads "$THREADS" --bf16 "$BF16" | tee -a "$OUT/results.jsonl"

# The four peers on one configuration; each reads $arch, $hw and $batch of the loops below.
vitsharp() {
  "$VITSHARP" bench --weights "$OUT/models/$arch.safetensors" --arch "$arch" --size "$hw" --batch "$batch" --threads "$THREADS" \
    --seconds "$SECS" --check "$OUT/models/${arch}_$hw.check.safetensors" --json | sed 's/^{/{"peer":"vitsharp",/'
}
pytorch_peer() {
  pytorch "$HERE/peers.py" --out "$OUT/models" --arch "$arch" --size "$hw" --batch "$batch" --threads "$THREADS" --seconds "$SECS" --no-export
}
ort() {
  "$PEERS" ort --model "$OUT/models/${arch}_$hw.onnx" --check "$OUT/models/${arch}_$hw.check.safetensors" --arch "$arch" \
    --size "$hw" --batch "$batch" --threads "$THREADS" --seconds "$SECS"
}
control() {
  "$PEERS" control --weights "$OUT/models/$arch.safetensors" --check "$OUT/models/${arch}_$hw.check.safetensors" --heads "${HEADS[$arch]}" \
    --arch "$arch" --size "$hw" --batch "$batch" --threads "$THREADS" --seconds "$SECS"
}
declare -A HEADS=([vit_small_patch16_224]=6 [vit_base_patch16_224]=12)
order=(vitsharp pytorch_peer ort control)
for arch in $ARCHS; do
  for size in 224 224x320; do
    hw=$([ "$size" = 224 ] && echo 224x224 || echo "$size")
    for batch in 1 8; do
      echo "== $arch $hw batch $batch"
      for round in $(seq "$ROUNDS"); do
        for i in 0 1 2 3; do
          # round r starts with peer r-1: no peer is always the first after a configuration change
          "${order[$(( (i + round - 1) % 4 ))]}" | sed "s/^{/{\"round\":$round,/" | tee -a "$OUT/results.jsonl"
        done
      done
    done
  done
  echo "== $arch: same tokens on another grid (14x14 native vs 7x28), and bf16"
  for round in $(seq "$ROUNDS"); do
    # The native grid first in odd rounds, second in even ones: in one process the second size ran 2-3 % faster
    # than in the other order (three pairs of runs, 2026-11-28), which always favoured 7x28 before.
    sizes="224x224 112x448"
    [ $((round % 2)) = 0 ] && sizes="112x448 224x224"
    # shellcheck disable=SC2086 # two sizes, split on purpose
    "$VITSHARP" bench --weights "$OUT/models/$arch.safetensors" --arch "$arch" --size $sizes --batch 8 --threads "$THREADS" \
      --seconds "$SECS" --check "$OUT/models/${arch}_224x224.check.safetensors" --json | sed "s/^{/{\"peer\":\"vitsharp\",\"purpose\":\"grid\",\"round\":$round,/" | tee -a "$OUT/results.jsonl"
    # bf16 in every round too, so that bf16 / fp32 is a ratio within rounds like the others (one 3-pass look, as
    # before 2026-11-28 15:00Z, once measured 33 images/s for ViT-S where a rerun minutes later gave 66-76).
    [ "$BF16" = 1 ] && "$VITSHARP" bench --weights "$OUT/models/$arch.safetensors" --arch "$arch" --size 224x224 --batch 8 --dtype bf16 \
      --threads "$THREADS" --seconds "$SECS" --check "$OUT/models/${arch}_224x224.check.safetensors" --json | sed "s/^{/{\"peer\":\"vitsharp\",\"round\":$round,/" | tee -a "$OUT/results.jsonl"
  done
done

echo "== profile of one ViT-S/16 forward pass (224, batch 8), VitSharp's and ONNX Runtime's"
"$VITSHARP" bench --weights "$OUT/models/vit_small_patch16_224.safetensors" --arch vit_small_patch16_224 --size 224 --batch 8 \
  --threads "$THREADS" --seconds "$SECS" --profile | tee "$OUT/profile.txt"
"$PEERS" ort-profile --model "$OUT/models/vit_small_patch16_224_224x224.onnx" --arch vit_small_patch16_224 --size 224x224 --batch 8 --warmup 5 \
  --threads "$THREADS" --seconds "$((SECS * 3))" | tee "$OUT/ort-profile.txt"

echo "== training throughput (bench/train-throughput)"
SKIP_REFBLAS=1 OUT="$OUT/train" "$ROOT/bench/train-throughput/run.sh" | grep '^{' | sed 's/^{/{"peer":"training",/' | tee -a "$OUT/results.jsonl"
[ "$BF16" = 1 ] && PRECISION=bf16 SKIP_REFBLAS=1 OUT="$OUT/train-bf16" "$ROOT/bench/train-throughput/run.sh" | grep '^{' \
  | sed 's/^{/{"peer":"training",/' | tee -a "$OUT/results.jsonl"

# The latest results are kept in the repository (bench/compare/latest) and docs/benchmarks.md is made from them.
[ "$PUBLISH" = 1 ] || { /usr/bin/python3 "$HERE/report.py" "$OUT" > "$OUT/benchmarks.md"; echo "wrote $OUT/benchmarks.md (PUBLISH=0)"; exit 0; }
mkdir -p "$HERE/latest" && cp "$OUT/results.jsonl" "$OUT/machine.txt" "$OUT/profile.txt" "$OUT/ort-profile.txt" "$HERE/latest/"
/usr/bin/python3 "$HERE/report.py" "$HERE/latest" > "$ROOT/docs/benchmarks.md"
echo "wrote bench/compare/latest/ and docs/benchmarks.md"
