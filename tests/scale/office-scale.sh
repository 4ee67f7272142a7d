#!/usr/bin/env bash
# The issue-6 scale check: an office with DEVICES × PER_DEVICE dossiers (default 50 × 2000 = 100,000).
# Builds release, makes a temporary office (hub init + an admin and a clerk, as the tests do), generates the
# field devices' batch files through the hub library (office-load generate), imports them (office-load
# import), starts `hub serve --mode office --mdns off` on a loopback port, times the office's pages and
# exports (office-load measure, paths in tests/scale/paths.txt), prints a summary, stops the hub and deletes
# the temporary data.
#
#   tests/scale/office-scale.sh [--devices N] [--per-device M] [--runs R] [--keep DIR] [--no-build] [--debug]
set -euo pipefail

DEVICES=50
PER_DEVICE=2000
RUNS=15
KEEP=""
BUILD=1
PROFILE=release
while [ $# -gt 0 ]; do
  case "$1" in
    --devices) DEVICES="$2"; shift 2 ;;
    --per-device) PER_DEVICE="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --keep) KEEP="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --debug) PROFILE=debug; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
if [ "$BUILD" = 1 ]; then
  if [ "$PROFILE" = release ]; then
    cargo build --release -p hub -p loadgen
  else
    cargo build -p hub -p loadgen
  fi
fi
HUB="$ROOT/target/$PROFILE/hub"
LOAD="$ROOT/target/$PROFILE/office-load"

WORK="${KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/office-scale.XXXXXX")}"
mkdir -p "$WORK"
HUB_PID=""
cleanup() {
  if [ -n "$HUB_PID" ]; then kill "$HUB_PID" 2>/dev/null || true; wait "$HUB_PID" 2>/dev/null || true; fi
  if [ -z "$KEEP" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

OFFICE="$WORK/office"
PASSWORD="mat-khau-van-thu-scale"
export HUB_LOG=warn
"$HUB" init --mode office --data "$OFFICE" --name "UBND xã Bù Gia Mập" >/dev/null
HUB_PASSWORD="$PASSWORD" "$HUB" user add --data "$OFFICE" --role admin --name admin >/dev/null
HUB_PASSWORD="$PASSWORD" "$HUB" user add --data "$OFFICE" --role clerk --name clerk >/dev/null
"$HUB" key show --data "$OFFICE" > "$WORK/office.pub"

t0=$(date +%s.%N)
"$LOAD" generate --office-card "$WORK/office.pub" --devices "$DEVICES" --per-device "$PER_DEVICE" \
  --out "$WORK/gen" --drop-field | tee "$WORK/generate.log" | grep -E "^(generating|generated)|devices, " | awk 'NR % 10 == 1 || /^generat/'
t1=$(date +%s.%N)
BATCH_SIZE=$(du -sh "$WORK/gen/batches" | cut -f1)
"$LOAD" import --office-data "$OFFICE" --batches "$WORK/gen/batches" > "$WORK/import.log"
tail -n 1 "$WORK/import.log"
t2=$(date +%s.%N)
DB_SIZE=$(du -sh "$OFFICE" | cut -f1)

# Port 0: the kernel picks a free port and the hub's banner names it (no window for another process).
"$HUB" serve --mode office --data "$OFFICE" --listen 127.0.0.1:0 --https-listen off --mdns off \
  > "$WORK/hub.log" 2>&1 &
HUB_PID=$!
BASE=""
for _ in $(seq 1 300); do
  [ -n "$BASE" ] || BASE=$(grep -m1 -o 'http://127\.0\.0\.1:[0-9]*' "$WORK/hub.log" || true)
  [ -n "$BASE" ] && curl -fs "$BASE/healthz" >/dev/null 2>&1 && break
  kill -0 "$HUB_PID" 2>/dev/null || break
  sleep 0.2
done
if [ -z "$BASE" ] || ! curl -fs "$BASE/healthz" >/dev/null; then
  echo "the office hub did not start:"; cat "$WORK/hub.log"; exit 1
fi

OFFICE_LOAD_PASSWORD="$PASSWORD" "$LOAD" measure --base "$BASE" --user clerk \
  --runs "$RUNS" --paths "$ROOT/tests/scale/paths.txt" --hub-pid "$HUB_PID" --json-out "$WORK/measure.json" \
  | tee "$WORK/measure.log"

echo
echo "== Office at scale: summary =="
printf '%-34s %s\n' "dossiers" "$((DEVICES * PER_DEVICE)) from $DEVICES devices"
printf '%-34s %.0f s\n' "generate (seal + export)" "$(echo "$t1 - $t0" | bc)"
printf '%-34s %s\n' "batch files imported" "$BATCH_SIZE"
printf '%-34s %.0f s\n' "import (verify + store)" "$(echo "$t2 - $t1" | bc)"
printf '%-34s %s\n' "office data directory" "$DB_SIZE"
printf '%-34s %s\n' "machine" "$(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "held back (gaps on purpose): $(ls "$WORK/gen/held-back" | tr '\n' ' ')"
