#!/usr/bin/env bash
# Runs the whole test suite, then the kernel tests (Category=Kernels) again under each oneDNN instruction-set cap in
# VITSHARP_TEST_ISAS (default "AVX2 AVX512_CORE"; empty to skip), so that one host also checks the kernels oneDNN
# would pick on CPUs with less than it has. Ends with one line "N passed, N failed", summed over every run from the
# test results (TRX). Arguments go to the first run only (e.g. --no-build, or --filter for a subset).
set -uo pipefail
cd "$(dirname "$0")"
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
# A test that runs 5 minutes is hung: its test host is stopped, and the tests it did not finish count as failed.
hang=(--blame-hang --blame-hang-timeout 5min --blame-hang-dump-type none)

dotnet test VitSharp.slnx -c Release "${hang[@]}" --logger "trx;LogFileName=results.trx" --results-directory "$results/all" "$@"
status=$?
for isa in ${VITSHARP_TEST_ISAS-AVX2 AVX512_CORE}; do
  echo "== kernel tests with ONEDNN_MAX_CPU_ISA=$isa"
  ONEDNN_MAX_CPU_ISA=$isa dotnet test VitSharp.slnx -c Release --no-build "${hang[@]}" --filter "Category=Kernels" \
    --logger "trx;LogFileName=results.trx" --results-directory "$results/$isa" || status=1
done

passed=0 failed=0 files=0
while IFS= read -r trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  # Tests that did not run (aborted host, timeouts) count as failed: the summary must not hide them.
  passed=$(( passed + ${p:-0} ))
  failed=$(( failed + ${f:-0} + ${t:-0} - ${e:-0} ))
  files=$(( files + 1 ))
done < <(find "$results" -name '*.trx')
expected=$(( 1 + $(wc -w <<<"${VITSHARP_TEST_ISAS-AVX2 AVX512_CORE}") ))
if [ "$files" -lt "$expected" ]; then
  echo "only $files of $expected test runs wrote results (dotnet test exited with $status)"
  failed=$(( failed + expected - files ))
fi
echo "${passed} passed, ${failed} failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
