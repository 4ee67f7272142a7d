#!/usr/bin/env bash
# CI smoke of the scale check (< 2 min): 2 devices × 50 dossiers through the whole driver (generate through
# the hub library, import, serve, measure) on the debug build. Fails if a batch is refused, an envelope is
# quarantined, the office did not receive every dossier outside the held-back batch, or a timed path fails.
# --no-build: use the debug binaries already in target/debug (tests/run-all.sh builds everything once).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
[ "${1:-}" = --no-build ] || cargo build -p hub -p loadgen
WORK="$(mktemp -d "${TMPDIR:-/tmp}/office-scale-smoke.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
"$ROOT/tests/scale/office-scale.sh" --debug --no-build --devices 2 --per-device 50 --runs 3 --keep "$WORK/run" \
  | tee "$WORK/out.log"
# Device 01 exports 3 batches and holds the 2nd back: 100 sealed, 50 + 17 + 16 imported.
grep -q "imported 4 files: 83 envelopes stored, 0 quarantined, 0 files refused" "$WORK/out.log" \
  || grep "^imported" "$WORK/out.log"
grep -q "imported 4 files: 83 envelopes stored, 0 quarantined, 0 files refused" "$WORK/out.log"
grep -q "dev-01-b2.batch" "$WORK/out.log"
echo "scale smoke: OK"
