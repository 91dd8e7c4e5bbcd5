#!/usr/bin/env bash
# Runs the whole test suite and ends with one line "N passed, N failed", read from the test results (TRX).
set -uo pipefail
cd "$(dirname "$0")"
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
dotnet test VitSharp.slnx -c Release --logger "trx;LogFileName=results.trx" --results-directory "$results" "$@"
status=$?
trx=$(find "$results" -name '*.trx' | head -n 1)
if [ -z "$trx" ]; then
  echo "no test results were written (dotnet test exited with $status)"
  echo "0 passed, 1 failed"
  exit 1
fi
counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
passed=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
failed=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
total=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
executed=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
# Tests that did not run (aborted host, timeouts) count as failed: the summary must not hide them.
failed=$(( ${failed:-0} + ${total:-0} - ${executed:-0} ))
echo "${passed:-0} passed, ${failed} failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "${passed:-0}" -eq 0 ]; then exit 1; fi
