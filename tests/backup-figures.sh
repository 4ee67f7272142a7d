#!/usr/bin/env bash
# Backup figures for docs/deployment.md: a field hub with N sealed dossiers (each with a document photo,
# captured through the real HTTP API), then `hub backup` while it serves, `hub backup verify`, and
# `hub restore` into a new directory: time, file size and the backup's peak RSS (/usr/bin/time). Backups
# are encrypted to the hub's recovery key (made here, as install.sh does) and restored with it
# (`--identity`); the office case makes one for the office directory when it has none.
# With --office DIR it measures an existing office data directory instead (e.g. one kept by
# `tests/scale/office-scale.sh --keep DIR`: DIR/office).
#
#   HUB_BIN=target/debug/hub bash tests/backup-figures.sh [--dossiers 200] [--office DATA_DIR]
#   (an --office directory that already has a recovery key: BACKUP_IDENTITY=its key file)
#
# Exit codes: 0 figures printed; 1 a step failed; 2 wrong usage.
set -euo pipefail

N=200
OFFICE=""
while [ $# -gt 0 ]; do
  case $1 in
    --dossiers) N=$2; shift 2 ;;
    --office) OFFICE=$2; shift 2 ;;
    *) echo "usage: $0 [--dossiers N] [--office DATA_DIR]" >&2; exit 2 ;;
  esac
done
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HUB=${HUB_BIN:-$ROOT/target/debug/hub}
PHOTO=$ROOT/../shared/data/photos/to-khai-xac-nhan-hon-nhan.jpg
T=$(mktemp -d)
HUB_PID=""
finish() {
  if [ -n "$HUB_PID" ]; then kill "$HUB_PID" 2>/dev/null || true; wait "$HUB_PID" 2>/dev/null || true; fi
  rm -rf "$T"
}
trap finish EXIT
export HUB_LOG=warn
# The admin set up below protects the field hub (issue 19): the backup command unlocks it with that admin.
export HUB_UNLOCK_USER=${HUB_UNLOCK_USER:-quantri} HUB_UNLOCK_PASSWORD=${HUB_UNLOCK_PASSWORD:-mat-khau-quan-tri}

measure() { # LABEL DATA_DIR
  local label=$1 data=$2 size
  if [ ! -f "$data/backup-recovery-key.pub" ]; then
    "$HUB" backup recovery-key new --data "$data" | grep '^AGE-SECRET-KEY-1' >"$T/$label.key"
  fi
  local key_args=(--identity "$T/$label.key")
  [ -s "$T/$label.key" ] || key_args=(--identity "${BACKUP_IDENTITY:?the directory has a recovery key: set BACKUP_IDENTITY=its key file}")
  /usr/bin/time -f "%e s, peak RSS %M kB" -o "$T/time.b" "$HUB" backup --data "$data" --out "$T/$label.hubbackup" >/dev/null
  size=$(stat -c %s "$T/$label.hubbackup")
  /usr/bin/time -f "%e s, peak RSS %M kB" -o "$T/time.v" "$HUB" backup verify --from "$T/$label.hubbackup" "${key_args[@]}" >/dev/null
  /usr/bin/time -f "%e s, peak RSS %M kB" -o "$T/time.r" "$HUB" restore --data "$T/$label-restored" --from "$T/$label.hubbackup" "${key_args[@]}" >/dev/null
  echo "$label: data dir $(du -sh "$data" | cut -f1), backup file $(numfmt --to=iec "$size")B"
  echo "  backup:  $(tail -1 "$T/time.b")"
  echo "  verify:  $(tail -1 "$T/time.v")"
  echo "  restore: $(tail -1 "$T/time.r")"
  rm -rf "$T/$label-restored" "$T/$label.hubbackup"
}

if [ -n "$OFFICE" ]; then
  measure office "$OFFICE"
  exit 0
fi

DATA=$T/field
PORT=$((20000 + RANDOM % 20000))
"$HUB" serve --mode field --data "$DATA" --listen "127.0.0.1:$PORT" --https-listen off --mdns off >"$T/out" 2>&1 &
HUB_PID=$!
for _ in $(seq 1 100); do grep -q "setup?token=" "$T/out" 2>/dev/null && break; sleep 0.2; done
TOKEN=$(sed -n 's/.*#\/setup?token=\([A-Za-z0-9_-]*\).*/\1/p' "$T/out" | head -1)
B=http://127.0.0.1:$PORT
J=(-s -b "$T/c" -c "$T/c" -H 'content-type: application/json')
CSRF=$(curl "${J[@]}" -X POST "$B/api/v1/setup" -d "{\"token\":\"$TOKEN\",\"name\":\"quantri\",\"password\":\"mat-khau-quan-tri\"}" | jq -r .csrf_token)
curl "${J[@]}" -H "x-csrf-token: $CSRF" -X POST "$B/api/v1/users" -d '{"name":"canbo","role":"officer","password":"mat-khau-can-bo"}' >/dev/null
CSRF=$(curl "${J[@]}" -X POST "$B/api/v1/login" -d '{"name":"canbo","password":"mat-khau-can-bo"}' | jq -r .csrf_token)
H=(-H "x-csrf-token: $CSRF")
FIELDS='{"addressee.commune":"Ủy ban nhân dân xã Bù Gia Mập","requester.full_name":"Điểu Thị Hạnh","requester.residence":"Thôn Bù Lư, xã Bù Gia Mập, tỉnh Đồng Nai","requester.id_type":"can_cuoc","requester.pin":"070198001234","requester.id_issuer":"Cục Cảnh sát quản lý hành chính về trật tự xã hội","requester.id_issue_date":"2021-04-15","requester.relationship":"self","subject.full_name":"Điểu Thị Hạnh","subject.date_of_birth":"1998-03-12","subject.sex":"female","subject.ethnicity":"Xtiêng","subject.nationality":"Việt Nam","subject.residence":"Thôn Bù Lư, xã Bù Gia Mập, tỉnh Đồng Nai","subject.id_type":"can_cuoc","subject.pin":"070198001234","subject.marital_status":"never_married","request.purpose":"Bổ sung hồ sơ vay vốn ngân hàng chính sách xã hội","declaration.confirmed":"yes"}'
t0=$(date +%s)
for i in $(seq 1 "$N"); do
  d=$(curl "${J[@]}" "${H[@]}" -X POST "$B/api/v1/drafts" -d '{"procedure":{"id":"marital-status-certificate","version":1},"fields":{}}')
  id=$(jq -r .id <<<"$d"); v=$(jq -r .version <<<"$d")
  curl "${J[@]}" "${H[@]}" -X PUT "$B/api/v1/drafts/$id" -d "{\"fields\":$FIELDS,\"version\":$v}" >/dev/null
  curl -s -b "$T/c" "${H[@]}" -F role=id_document -F "file=@$PHOTO;type=image/jpeg" "$B/api/v1/drafts/$id/attachments" >/dev/null
  code=$(curl "${J[@]}" "${H[@]}" -X POST "$B/api/v1/drafts/$id/seal" -d '{}' -o /dev/null -w '%{http_code}')
  [ "$code" = 201 ] || { echo "seal $i failed: $code" >&2; exit 1; }
done
echo "field: $N dossiers with a photo captured and sealed in $(( $(date +%s) - t0 )) s"
measure "field-$N" "$DATA"
