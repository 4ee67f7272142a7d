#!/usr/bin/env bash
# Load and footprint figures of the hub (issue 8), in one run, as a table and as JSON
# (target/perf/perf-<UTC date-time>.json and target/perf/latest.json), each figure next to its target:
#   - idle RSS of `hub serve`, field and office, 10 s after start (target ≤ 13 MiB);
#   - cold start: spawn → /healthz 200, median of 5;
#   - the field load (field-load): N phones doing the capture flow for D s: req/s, p50/p99 (target p99 ≤ 50 ms
#     with 50 phones on 2 cores), errors (must be 0), the hub's peak RSS;
#   - bytes per 3-in-1 dossier with three document photos prepared as the web app prepares them: envelope and
#     photo ciphertext as stored, database growth, batch bytes (target ≤ 400 KiB); legibility of the stored
#     photos by the OCR tool of ../shared/tools (not in --quick);
#   - office verification rate: `hub batch import` of a 10,000-dossier batch (office-load generate) → dossiers/s.
#
#   tests/perf/run.sh [--quick] [--debug | --dist] [--no-build] [--phones N] [--duration S] [--batch N] [--keep DIR]
#
# --quick: 10 phones × 10 s, a 1,000-dossier batch, no OCR (what tests/run-all.sh runs).
# --debug: use the debug build (figures are then not comparable); release is the default.
# --dist: the hub of the `dist` profile, as deploy/build.sh ships it (size-tuned, fat LTO: a smaller binary,
#   so fewer file-backed pages in the idle RSS; the build takes ~10-20 min); the load tools stay release.
# Figures that miss a target are marked "MISSED" but do not fail the run.
# Exit codes: 0 figures taken; 1 an error (a hub did not start, a load request failed, a batch was refused
# or an envelope quarantined, a tool missing); 2 bad arguments.
set -euo pipefail

QUICK=0
PROFILE=release
BUILD=1
PHONES=""
DURATION=""
BATCH=""
KEEP=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; shift ;;
    --debug) PROFILE=debug; shift ;;
    --dist) PROFILE=dist; shift ;;
    --no-build) BUILD=0; shift ;;
    --phones) PHONES="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --batch) BATCH="$2"; shift 2 ;;
    --keep) KEEP="$2"; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$QUICK" = 1 ]; then
  PHONES="${PHONES:-10}"; DURATION="${DURATION:-10}"; BATCH="${BATCH:-1000}"
else
  PHONES="${PHONES:-50}"; DURATION="${DURATION:-60}"; BATCH="${BATCH:-10000}"
fi

# Seconds a phone may take after the load to finish its dossier in hand (photos are slow in debug builds).
DRAIN=60
[ "$PROFILE" = debug ] && DRAIN=600

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed: apt-get install -y $tool" >&2; exit 1; }
done
PHOTOS="$ROOT/../shared/data/photos"
[ -f "$PHOTOS/giay-chung-sinh.jpg" ] || { echo "sample photos missing in $PHOTOS (../shared/data/photos)" >&2; exit 1; }
if [ "$BUILD" = 1 ]; then
  case "$PROFILE" in
    release) cargo build --release -p hub -p loadgen && cargo build --release -p hub --example db_stats ;;
    dist) cargo build --profile dist -p hub && cargo build --release -p loadgen && cargo build --release -p hub --example db_stats ;;
    *) cargo build -p hub -p loadgen && cargo build -p hub --example db_stats ;;
  esac
fi
HUB="$ROOT/target/$PROFILE/hub"
TOOLS=$PROFILE
[ "$PROFILE" = dist ] && TOOLS=release
FIELD_LOAD="$ROOT/target/$TOOLS/field-load"
DB_STATS="$ROOT/target/$TOOLS/examples/db_stats"
OFFICE_LOAD="$ROOT/target/$TOOLS/office-load"
for b in "$HUB" "$FIELD_LOAD" "$OFFICE_LOAD" "$DB_STATS"; do
  [ -x "$b" ] || { echo "$b is missing: run without --no-build" >&2; exit 1; }
done

WORK="${KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/hub-perf.XXXXXX")}"
mkdir -p "$WORK"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ -z "$KEEP" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

export HUB_LOG=warn
PASSWORD="mat-khau-do-tai-perf"
# banner_url LOG → the hub's plain-HTTP address from its start banner ("  http://127.0.0.1:PORT/"), or nothing yet.
banner_url() { grep -m1 -o 'http://127\.0\.0\.1:[0-9]*' "$1" 2>/dev/null || true; }
now_ns() { date +%s%N; }
kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# start_hub DATA LOG → sets HUB_PID and BASE; waits for /healthz. The hub binds port 0 and its banner
# names the port the kernel gave it: a port picked here and bound later could be taken in between.
start_hub() {
  MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 "$HUB" serve --data "$1" --listen 127.0.0.1:0 --https-listen 127.0.0.1:0 --mdns off >"$2" 2>&1 &
  HUB_PID=$!
  PIDS+=("$HUB_PID")
  BASE=""
  for _ in $(seq 1 1500); do
    [ -n "$BASE" ] || BASE=$(banner_url "$2")
    [ -n "$BASE" ] && curl -fs -o /dev/null "$BASE/healthz" && return 0
    kill -0 "$HUB_PID" 2>/dev/null || break
    sleep 0.01
  done
  echo "the hub on $1 did not start; its log:" >&2; cat "$2" >&2; exit 1
}
# unlock_hub NAME: a protected field hub starts locked after every start (issue 19); NAME (an officer) logs
# in once, as the team does after a power cut. Nothing to do on a hub that is not locked.
unlock_hub() {
  if curl -fs "$BASE/api/v1/setup" | grep -q '"locked":true'; then
    curl -fs -o /dev/null -H 'content-type: application/json' \
      -d "{\"name\":\"$1\",\"password\":\"$PASSWORD\"}" "$BASE/api/v1/login" \
      || { echo "the hub did not unlock with $1's password" >&2; exit 1; }
  fi
}
stop_hub() {
  kill "$HUB_PID" 2>/dev/null || true
  wait "$HUB_PID" 2>/dev/null || true
}

echo "== setting up a field hub and an office hub in $WORK"
FIELD="$WORK/field"; OFFICE="$WORK/office"
"$HUB" init --mode office --data "$OFFICE" >/dev/null
"$HUB" init --mode field --data "$FIELD" >/dev/null
"$HUB" key show --data "$OFFICE" >"$WORK/office.pub"
"$HUB" key show --data "$FIELD" >"$WORK/field.pub"
"$HUB" trust --data "$FIELD" "$WORK/office.pub" >/dev/null
"$HUB" trust --data "$OFFICE" "$WORK/field.pub" >/dev/null
OFFICERS=(canbo01 canbo02 canbo03 canbo04 canbo05 canbo06 canbo07 canbo08)
VOLUNTEERS=(tinhnguyen01 tinhnguyen02)
export HUB_PASSWORD="$PASSWORD"
# The first officer added protects the field hub's data (issue 19): later commands unlock with them.
export HUB_UNLOCK_USER="${OFFICERS[0]}" HUB_UNLOCK_PASSWORD="$PASSWORD"
"$HUB" user add --data "$OFFICE" --role clerk --name vanthu >/dev/null
for u in "${OFFICERS[@]}"; do "$HUB" user add --data "$FIELD" --role officer --name "$u" >/dev/null; done
for u in "${VOLUNTEERS[@]}"; do "$HUB" user add --data "$FIELD" --role volunteer --name "$u" >/dev/null; done
# A second field hub for the bytes-per-dossier figure, so nothing else is in its database.
BYTES_FIELD="$WORK/field-bytes"
"$HUB" init --mode field --data "$BYTES_FIELD" >/dev/null
"$HUB" trust --data "$BYTES_FIELD" "$WORK/office.pub" >/dev/null
HUB_UNLOCK_USER=canbo "$HUB" user add --data "$BYTES_FIELD" --role officer --name canbo >/dev/null

echo "== cold start: spawn → /healthz 200, 5 times"
COLD=()
for _ in 1 2 3 4 5; do
  t0=$(now_ns); start_hub "$FIELD" "$WORK/cold.log"; t1=$(now_ns)
  COLD+=("$(( (t1 - t0) / 1000 ))")
  stop_hub
done
COLD_MS=$(printf '%s\n' "${COLD[@]}" | sort -n | sed -n 3p | awk '{printf "%.1f", $1 / 1000}')
echo "cold start: median ${COLD_MS} ms (µs: ${COLD[*]})"

echo "== idle RSS, 10 s after start"
start_hub "$OFFICE" "$WORK/office-idle.log"; sleep 10
IDLE_OFFICE_KB=$(kb "$HUB_PID" VmRSS); IDLE_OFFICE_THREADS=$(kb "$HUB_PID" Threads); stop_hub
start_hub "$FIELD" "$WORK/field.log"; unlock_hub "${OFFICERS[0]}"; sleep 10
IDLE_FIELD_KB=$(kb "$HUB_PID" VmRSS); IDLE_FIELD_THREADS=$(kb "$HUB_PID" Threads)
echo "idle VmRSS: field ${IDLE_FIELD_KB} KiB (${IDLE_FIELD_THREADS} threads), office ${IDLE_OFFICE_KB} KiB (${IDLE_OFFICE_THREADS} threads)"

echo "== field load: $PHONES phones × $DURATION s (the field hub above, pid $HUB_PID)"
LOAD_OK=1
"$FIELD_LOAD" --base "$BASE" --phones "$PHONES" --duration "$DURATION" \
  --officers "$(IFS=,; echo "${OFFICERS[*]}")" --volunteers "$(IFS=,; echo "${VOLUNTEERS[*]}")" \
  --photos "$PHOTOS" --hub-pid "$HUB_PID" --drain "$DRAIN" --json "$WORK/load.json" || LOAD_OK=0
stop_hub
[ "$LOAD_OK" = 1 ] || { echo "the field load had errors (above); the hub's log: $WORK/field.log" >&2; KEEP="${KEEP:-$WORK}"; exit 1; }

echo "== bytes per 3-in-1 dossier with three photos"
N_BYTES=$([ "$QUICK" = 1 ] && echo 5 || echo 20)
# used_bytes DATA → used bytes, envelopes, their bytes, photo ciphertexts, their bytes (hub/examples/db_stats.rs:
# the field hub's database is encrypted at rest, which no plain SQLite tool reads).
used_bytes() {
  HUB_UNLOCK_USER=canbo "$DB_STATS" "$1"
}
start_hub "$BYTES_FIELD" "$WORK/field-bytes.log"; unlock_hub canbo
read -r USED0 _ _ _ _ < <(used_bytes "$BYTES_FIELD")
STORED="$WORK/stored-photos"
"$FIELD_LOAD" --base "$BASE" --phones 1 --officers canbo --volunteer-every 0 --three-in-one-pct 100 \
  --think-min-ms 0 --think-max-ms 0 --ramp-ms 0 --duration 600 --max-dossiers "$N_BYTES" \
  --photos "$PHOTOS" --save-stored "$STORED" --json "$WORK/bytes-load.json" >"$WORK/bytes-load.log" \
  || { cat "$WORK/bytes-load.log" >&2; exit 1; }
read -r USED1 N_ENV ENV_BYTES N_BLOBS BLOB_BYTES < <(used_bytes "$BYTES_FIELD")
stop_hub
HUB_UNLOCK_USER=canbo "$HUB" batch export --data "$BYTES_FIELD" --out "$WORK/bytes.batch" >/dev/null
BATCH_BYTES=$(stat -c %s "$WORK/bytes.batch")
if [ "$N_ENV" != "$N_BYTES" ] || [ "$N_BLOBS" != "$((3 * N_BYTES))" ]; then
  echo "expected $N_BYTES envelopes with 3 photos each, found $N_ENV envelopes and $N_BLOBS photos" >&2; exit 1
fi
UPLOADED=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join("%s=%d" % (p["name"], p["bytes"]) for p in d["photo_bytes_each"]))' "$WORK/bytes-load.json")
echo "$N_BYTES sealed: envelopes $ENV_BYTES B, photo ciphertext $BLOB_BYTES B, database growth $((USED1 - USED0)) B, batch $BATCH_BYTES B; uploaded: $UPLOADED"
OCR=""
if [ "$QUICK" = 0 ]; then
  if command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx vie; then
    for f in giay-chung-sinh to-khai-xac-nhan-hon-nhan; do
      acc=$(python3 "$ROOT/../shared/tools/ocr_accuracy.py" "$STORED/$f.jpg" "$PHOTOS/$f.txt" | sed -n 's/.*accuracy=\([0-9.]*\).*/\1/p')
      OCR="$OCR $f=$acc"
    done
    echo "OCR accuracy of the stored copies:$OCR"
  else
    echo "OCR skipped: tesseract with Vietnamese data not installed (apt-get install -y tesseract-ocr tesseract-ocr-vie imagemagick)"
  fi
fi

echo "== office verification rate: a $BATCH-dossier batch"
"$OFFICE_LOAD" generate --office-card "$WORK/office.pub" --devices 1 --per-device "$BATCH" --out "$WORK/gen" \
  --drop-field >"$WORK/generate.log"
for c in "$WORK"/gen/cards/*.pub; do "$HUB" trust --data "$OFFICE" "$c" >/dev/null; done
IMPORTED=0
t0=$(now_ns)
for f in "$WORK"/gen/batches/*.batch "$WORK"/gen/held-back/*.batch; do
  [ -e "$f" ] || continue
  "$HUB" batch import --data "$OFFICE" --json --ack-out "$WORK/ack.json" "$f" >"$WORK/import.json"
  n=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["accepted"] and not r["quarantined"], r; print(r["stored"])' "$WORK/import.json") \
    || { echo "the office refused $f or quarantined envelopes: $WORK/import.json" >&2; KEEP="${KEEP:-$WORK}"; exit 1; }
  IMPORTED=$((IMPORTED + n))
done
t1=$(now_ns)
IMPORT_MS=$(( (t1 - t0) / 1000000 ))
[ "$IMPORTED" = "$BATCH" ] || { echo "imported $IMPORTED of $BATCH dossiers" >&2; exit 1; }
echo "imported $IMPORTED dossiers in $IMPORT_MS ms"

mkdir -p "$ROOT/target/perf"
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
OUT="$ROOT/target/perf/perf-$STAMP.json"
python3 - "$WORK/load.json" "$OUT" <<EOF
import json, sys
load = json.load(open(sys.argv[1]))
MiB = 1024
n = $N_BYTES
fig = {
  "date": "$STAMP",
  "profile": "$PROFILE",
  "quick": bool($QUICK),
  "machine": {"cores": $(nproc), "load_average_at_end": "$(cut -d' ' -f1-3 /proc/loadavg)",
              "mem_total_kib": $(awk '/MemTotal/ {print $2}' /proc/meminfo)},
  "hub_version": "$("$HUB" --version | tr -d '"')",
  "idle_rss_kib": {"field": $IDLE_FIELD_KB, "office": $IDLE_OFFICE_KB,
                   "field_threads": $IDLE_FIELD_THREADS, "office_threads": $IDLE_OFFICE_THREADS},
  "cold_start_ms": {"median": $COLD_MS, "runs_us": [$(IFS=,; echo "${COLD[*]}")]},
  "load": {
    "phones": load["phones"], "duration_s": load["duration_s"],
    "requests": load["overall"]["count"], "requests_per_s": load["overall"]["per_s"],
    "p50_ms": load["overall"]["p50_ms"], "p90_ms": load["overall"]["p90_ms"],
    "p99_ms": load["overall"]["p99_ms"], "max_ms": load["overall"]["max_ms"],
    "but_photo_uploads": load["overall_but_photo_uploads"],
    "errors": load["error_count"], "dossiers_sealed": load["dossiers_sealed"],
    "peak_rss_kib": (load.get("hub_memory_kb") or {}).get("rss_peak_sampled"),
    "hwm_kib": (load.get("hub_memory_kb") or {}).get("hwm"),
    "kinds": load["kinds"],
  },
  "three_in_one_bytes": {
    "dossiers": n,
    "uploaded_photo_bytes": {p["name"]: p["bytes"] for p in json.load(open("$WORK/bytes-load.json"))["photo_bytes_each"]},
    "stored_per_dossier": ($ENV_BYTES + $BLOB_BYTES) / n,
    "envelope_per_dossier": $ENV_BYTES / n,
    "photos_per_dossier": $BLOB_BYTES / n,
    "db_growth_per_dossier": ($USED1 - $USED0) / n,
    "batch_per_dossier": $BATCH_BYTES / n,
    "ocr_accuracy": {k: float(v) for k, v in (x.split("=") for x in "$OCR".split())},
  },
  "office_import": {"dossiers": $IMPORTED, "ms": $IMPORT_MS, "dossiers_per_s": $IMPORTED * 1000 / max($IMPORT_MS, 1)},
}
targets = {"idle_rss_mib": 13, "p99_ms": 50, "three_in_one_kib": 400}
fig["targets"] = targets
json.dump(fig, open(sys.argv[2], "w"), indent=2, ensure_ascii=False)
b = fig["three_in_one_bytes"]
L = fig["load"]
def mark(ok): return "ok" if ok else "MISSED"
rows = [
  ("idle RSS, field hub", "%.1f MiB" % ($IDLE_FIELD_KB / MiB), "≤ 13 MiB", mark($IDLE_FIELD_KB <= 13 * MiB)),
  ("idle RSS, office hub", "%.1f MiB" % ($IDLE_OFFICE_KB / MiB), "≤ 13 MiB", mark($IDLE_OFFICE_KB <= 13 * MiB)),
  ("cold start (median of 5)", "%s ms" % $COLD_MS, "", ""),
  ("load: phones × seconds", "%d × %d s" % (L["phones"], L["duration_s"]), "50 × 60 s", ""),
  ("load: requests/s", "%.1f" % L["requests_per_s"], "", ""),
  ("load: p50 / p90", "%.1f / %.1f ms" % (L["p50_ms"], L["p90_ms"]), "", ""),
  ("load: p99 / max", "%.1f / %.1f ms" % (L["p99_ms"], L["max_ms"]), "p99 ≤ 50 ms", mark(L["p99_ms"] <= 50)),
  ("load: p99 but photo uploads", "%.1f ms" % L["but_photo_uploads"]["p99_ms"], "p99 ≤ 50 ms", mark(L["but_photo_uploads"]["p99_ms"] <= 50)),
  ("load: photo upload p50 / p99", "%.0f / %.0f ms" % (L["kinds"]["photo"]["p50_ms"], L["kinds"]["photo"]["p99_ms"]), "", ""),
  ("load: errors", "%d" % L["errors"], "0", mark(L["errors"] == 0)),
  ("load: dossiers sealed", "%d" % L["dossiers_sealed"], "", ""),
  ("RSS under load (peak)", "%.1f MiB" % ((L["peak_rss_kib"] or 0) / MiB), "", ""),
  ("3-in-1 + 3 photos, stored", "%.0f KiB" % (b["stored_per_dossier"] / 1024), "≤ 400 KiB", mark(b["stored_per_dossier"] <= 400 * 1024)),
  ("3-in-1 + 3 photos, DB growth", "%.0f KiB" % (b["db_growth_per_dossier"] / 1024), "≤ 400 KiB", mark(b["db_growth_per_dossier"] <= 400 * 1024)),
  ("3-in-1 + 3 photos, in a batch", "%.0f KiB" % (b["batch_per_dossier"] / 1024), "≤ 400 KiB", mark(b["batch_per_dossier"] <= 400 * 1024)),
  ("stored photos OCR accuracy", " ".join("%.3f" % v for v in b["ocr_accuracy"].values()) or "not measured", "legible", ""),
  ("office import + verify", "%.0f dossiers/s (%d in %.1f s)" % (fig["office_import"]["dossiers_per_s"], $IMPORTED, $IMPORT_MS / 1000), "", ""),
]
print()
print("== Load and footprint (%s build, %d cores, load average %s)" % (fig["profile"], fig["machine"]["cores"], fig["machine"]["load_average_at_end"]))
print("%-32s %-36s %-12s %s" % ("figure", "measured", "target", ""))
for r in rows:
    print("%-32s %-36s %-12s %s" % r)
EOF
cp "$OUT" "$ROOT/target/perf/latest.json"
echo
echo "written: $OUT (and target/perf/latest.json)"
