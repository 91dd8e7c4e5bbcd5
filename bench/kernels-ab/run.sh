#!/usr/bin/env bash
# Two builds of vitsharp, alternating, on the same weights: what a change to the kernels cost or won, per configuration.
#   git worktree add /tmp/vitsharp-old REV && dotnet build /tmp/vitsharp-old/src/VitSharp.Cli -c Release
#   OLD=/tmp/vitsharp-old bench/kernels-ab/run.sh > results.jsonl      # after one bench/compare/run.sh (it writes the weights)
# Each configuration runs ROUNDS times (default 2) per build, old first in odd rounds and new first in even ones, so a
# drift of the machine's speed hits both alike. Every run checks its output against libtorch's reference path first
# where the build can (vitsharp bench from 2026-12-07 does).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OLD_CLI="${OLD:?set OLD to the old checkout}/src/VitSharp.Cli/bin/Release/net10.0/VitSharp.Cli"
NEW_CLI="${NEW:-$ROOT}/src/VitSharp.Cli/bin/Release/net10.0/VitSharp.Cli"
MODELS="${MODELS:-/tmp/bench-compare/models}"
ROUNDS="${ROUNDS:-2}"
THREADS="${THREADS:-$(nproc)}"
run() {  # build round arch size batch
  local cli=$OLD_CLI; [ "$1" = new ] && cli=$NEW_CLI
  "$cli" bench --weights "$MODELS/$3.safetensors" --arch "$3" --size "$4" --batch "$5" --threads "$THREADS" --seconds 3 --json \
    | sed "s/^{/{\"version\":\"$1\",\"round\":$2,/"
}
for arch in vit_small_patch16_224 vit_base_patch16_224; do
  for size in 224x224 224x320; do
    for batch in 1 8; do
      for round in $(seq "$ROUNDS"); do
        if [ $((round % 2)) = 1 ]; then run old "$round" $arch $size $batch; run new "$round" $arch $size $batch
        else run new "$round" $arch $size $batch; run old "$round" $arch $size $batch; fi
      done
    done
  done
done
