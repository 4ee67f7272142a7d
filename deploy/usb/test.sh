#!/usr/bin/env bash
# deploy/usb/test.sh: evidence for the USB-stick backup (deploy/check.sh runs it; it also runs alone).
#
# With a real hub serving a temporary data directory on loopback (mDNS off, run as the current user, so
# USB_BACKUP_RUN_AS is empty), it runs usb-backup.sh --target on temporary "sticks": an unmarked stick is
# left alone, USB_BACKUP=off does nothing, a marked stick gets backups with rotation (USB_BACKUP_KEEP),
# LAST-BACKUP.txt and a status line, `all` creates the folder; a hub with no backup key (unpaired, no
# recovery key) is refused and nothing is written; then `hub restore --identity` of the newest backup with
# the recovery key into a new directory, which verifies and holds the hub's device id, while no file of
# the kit (config dir, data dir) opens it. When this machine can make a loop
# device (root, losetup, mkfs.vfat or mkfs.ext4), the DEVICE path (mount nosuid,nodev,noexec; unmount) is tested on a
# FAT image too; otherwise the script says it was skipped.
#
#   HUB_BIN=target/debug/hub bash deploy/usb/test.sh
#
# Exit codes: 0 all checks passed; 1 a check failed; 3 no hub binary (build it: cargo build -p hub).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
HUB_BIN=${HUB_BIN:-$REPO/target/debug/hub}
[ -x "$HUB_BIN" ] || { echo "error: no hub binary at $HUB_BIN (cargo build -p hub, or set HUB_BIN)" >&2; exit 3; }
SCRIPT=$HERE/usb-backup.sh

T=$(mktemp -d)
HUB_PID=""
LOOP=""
finish() {
  if [ -n "$HUB_PID" ]; then kill "$HUB_PID" 2>/dev/null || true; wait "$HUB_PID" 2>/dev/null || true; fi
  if [ -n "$LOOP" ]; then
    umount "$T/m" 2>/dev/null || true
    losetup -d "$LOOP" 2>/dev/null || true
  fi
  rm -rf "$T"
}
trap finish EXIT

pass() { echo "  ok: $*"; }
die() { echo "FAIL: $*" >&2; exit 1; }

echo "USB backup checks (temporary directory $T)"
DATA=$T/data
config() { # POLICY KEEP
  cat >"$T/hub.env" <<CONF
# test config
HUB_DATA=$DATA
HUB_NAME="Trạm Đắk Ơ"
USB_BACKUP=$1
USB_BACKUP_KEEP=$2
CONF
}
export USB_BACKUP_ENV=$T/hub.env USB_BACKUP_HUB=$HUB_BIN USB_BACKUP_RUN_AS=

# A real hub, serving and holding its data-directory lock.
PORT=$(( 20000 + RANDOM % 20000 ))
HUB_LOG=warn "$HUB_BIN" serve --mode field --data "$DATA" --name "Trạm Đắk Ơ" --listen "127.0.0.1:$PORT" \
  --https-listen off --mdns off >"$T/hub.out" 2>&1 &
HUB_PID=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$PORT/healthz" >"$T/health.json" 2>/dev/null; then break; fi
  sleep 0.2
done
[ -s "$T/health.json" ] || { cat "$T/hub.out" >&2; die "the hub did not start"; }
DEVICE=$(sed -n 's/.*"device_id":"\([^"]*\)".*/\1/p' "$T/health.json")
HUB_PASSWORD=mat-khau-quan-tri "$HUB_BIN" user add --data "$DATA" --role admin --name quantri >/dev/null
pass "hub serving on 127.0.0.1:$PORT (device $DEVICE)"

# No office and no recovery key yet: refused, nothing on the stick, the failure recorded.
mkdir -p "$T/stick0/outreach-hub-backups"
config marked 2
if "$SCRIPT" --target "$T/stick0" >"$T/nokey.log" 2>&1; then die "a backup without any backup key succeeded"; fi
grep -q "no backup key" "$T/nokey.log" || die "no clear message without a backup key: $(cat "$T/nokey.log")"
[ -z "$(ls -A "$T/stick0/outreach-hub-backups")" ] || die "a refused backup left a file"
grep -q "FAILED.*no backup key" "$DATA/last-backup.txt" || die "the refusal is not in the status file"
pass "no backup key: refused, nothing written, recorded"

# The recovery key, as install.sh makes it; its secret goes on paper (here a file outside the kit).
"$HUB_BIN" backup recovery-key new --data "$DATA" >"$T/recovery.out"
grep '^AGE-SECRET-KEY-1' "$T/recovery.out" >"$T/paper.key" || die "no recovery key printed"

# Unmarked stick, USB_BACKUP=marked: left alone.
mkdir -p "$T/stick1"
config marked 2
out=$("$SCRIPT" --target "$T/stick1")
[ -z "$(ls -A "$T/stick1")" ] || die "an unmarked stick was written to"
grep -q "no top-level folder" <<<"$out" || die "no message for an unmarked stick: $out"
pass "unmarked stick left alone"

# USB_BACKUP=off: nothing, even on a marked stick.
mkdir -p "$T/stick2/outreach-hub-backups"
config off 2
"$SCRIPT" --target "$T/stick2" | grep -q "USB_BACKUP=off" || die "off is not reported"
[ -z "$(ls -A "$T/stick2/outreach-hub-backups")" ] || die "USB_BACKUP=off wrote a backup"
pass "USB_BACKUP=off does nothing"

# Marked stick: three backups, the newest two kept.
config marked 2
for i in 1 2 3; do
  "$SCRIPT" --target "$T/stick2" >"$T/run$i.log" || { cat "$T/run$i.log" >&2; die "backup $i failed"; }
  [ "$i" = 3 ] || sleep 1.1
done
mapfile -t files < <(find "$T/stick2/outreach-hub-backups" -type f -printf '%f\n' | sort)
[ "${#files[@]}" -eq 2 ] || die "expected 2 backups after rotation, found: ${files[*]}"
[[ ${files[0]} == Tram-Dak-O-2*Z.hubbackup ]] || die "unexpected file name ${files[0]}"
grep -q "removed the old backup" "$T/run3.log" || die "rotation not logged"
grep -q "encrypted to the recovery key" "$T/run3.log" || die "the log does not say who can open the backup"
grep -q "not paired with an office yet" "$T/run3.log" || die "the log does not say the hub is unpaired"
grep -q "Sao lưu gần nhất" "$T/stick2/LAST-BACKUP.txt" || die "LAST-BACKUP.txt is missing or has no Vietnamese"
grep -q "Last backup" "$T/stick2/LAST-BACKUP.txt" || die "LAST-BACKUP.txt has no English"
grep -q "${files[1]}" "$T/stick2/LAST-BACKUP.txt" || die "LAST-BACKUP.txt does not name the newest file"
[ "$(grep -c ' OK USB backup' "$DATA/last-backup.txt")" -eq 3 ] || die "status lines missing in last-backup.txt"
if grep -qi "quantri" "$T"/run*.log "$DATA/last-backup.txt"; then die "a user name leaked into the log"; fi
head -c 21 "$T/stick2/outreach-hub-backups/${files[1]}" | grep -q "age-encryption.org/v1" || die "backup not encrypted"
if grep -q "AGE-SECRET-KEY" "$T"/run*.log "$DATA/last-backup.txt"; then die "a secret key leaked into the log"; fi
pass "marked stick: 3 backups, 2 kept, LAST-BACKUP.txt and status written, encrypted, nothing personal logged"
curl -fsS "http://127.0.0.1:$PORT/healthz" | grep -q '"last_backup_at":"20' || die "/healthz does not show last_backup_at"
pass "/healthz shows last_backup_at"

# USB_BACKUP=all: any stick, the folder is created.
mkdir -p "$T/stick3"
config all 5
"$SCRIPT" --target "$T/stick3" >/dev/null
[ "$(find "$T/stick3/outreach-hub-backups" -name '*.hubbackup' | wc -l)" -eq 1 ] || die "all: no backup made"
pass "USB_BACKUP=all creates the folder and backs up"

# A stick that returns other bytes than were written: caught by the read-back (the sha256 the hub printed).
# Simulated with a hub wrapper that appends a byte after the hub wrote its summary.
cat >"$T/badhub" <<WRAP
#!/usr/bin/env bash
if [ "\$1" = backup ]; then "$HUB_BIN" "\$@"; rc=\$?; printf x; exit \$rc; fi
exec "$HUB_BIN" "\$@"
WRAP
chmod +x "$T/badhub"
mkdir -p "$T/stick4/outreach-hub-backups"
if USB_BACKUP_HUB=$T/badhub "$SCRIPT" --target "$T/stick4" >"$T/bad.log" 2>&1; then die "a corrupted copy was accepted"; fi
grep -q "does not read back correctly" "$T/bad.log" || die "corruption not reported: $(cat "$T/bad.log")"
[ "$(find "$T/stick4/outreach-hub-backups" -name '*.hubbackup' | wc -l)" -eq 0 ] || die "a corrupted copy kept its final name"
pass "a copy that does not read back as written is set aside as .bad"

# A failing backup (wrong data directory) leaves no file with a final name and records the failure.
config marked 2
sed -i "s|^HUB_DATA=.*|HUB_DATA=$T/nodata|" "$T/hub.env"
mkdir -p "$T/nodata"
if "$SCRIPT" --target "$T/stick2" >"$T/fail.log" 2>&1; then die "a backup of a non-hub directory succeeded"; fi
grep -q "FAILED" "$T/fail.log" || die "failure not reported"
[ "$(find "$T/stick2/outreach-hub-backups" -type f | wc -l)" -eq 2 ] || die "a failed backup left a file"
grep -q "FAILED" "$T/nodata/last-backup.txt" || die "failure not recorded in the status file"
pass "a failed backup leaves nothing and is recorded"

# Nothing the kit holds opens the backup: every file of its config and data directories tried as the key.
NEWEST=$T/stick2/outreach-hub-backups/${files[1]}
n=0
while IFS= read -r -d '' f; do
  if "$HUB_BIN" backup verify --from "$NEWEST" --identity "$f" >/dev/null 2>&1; then die "$f opens the backup"; fi
  n=$((n + 1))
done < <(find "$DATA" "$T/hub.env" -type f -print0)
[ "$n" -ge 4 ] || die "only $n files tried"
pass "none of the kit's $n files opens the backup"

# Restore the newest backup with the recovery key into a new directory (the original still serves).
"$HUB_BIN" restore --data "$T/restored" --from "$NEWEST" --identity "$T/paper.key" >"$T/restore.log"
grep -q "device $DEVICE" "$T/restore.log" || die "restored device differs: $(cat "$T/restore.log")"
"$HUB_BIN" backup verify --from "$NEWEST" --identity "$T/paper.key" | grep -q "Backup verified" \
  || die "verify failed"
"$HUB_BIN" key show --data "$T/restored" | grep -q "$DEVICE" || die "restored keys are not the hub's"
pass "newest backup restores into a new directory and verifies (device $DEVICE)"

# The DEVICE path on a loop-mounted filesystem image (FAT like most sticks, else ext4), when this machine
# allows it.
MKFS=()
if command -v mkfs.vfat >/dev/null; then MKFS=(mkfs.vfat -n HUBTEST); FS=vfat
elif command -v mkfs.ext4 >/dev/null; then MKFS=(mkfs.ext4 -q -F); FS=ext4
fi
if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null && [ ${#MKFS[@]} -gt 0 ] \
  && truncate -s 64M "$T/stick.img" && "${MKFS[@]}" "$T/stick.img" >/dev/null 2>&1 \
  && LOOP=$(losetup -f --show "$T/stick.img" 2>/dev/null); then
  mkdir -p "$T/m"
  mount "$LOOP" "$T/m" && mkdir "$T/m/outreach-hub-backups" && umount "$T/m"
  sed -i "s|^HUB_DATA=.*|HUB_DATA=$DATA|" "$T/hub.env"
  USB_BACKUP_MOUNT_BASE=$T/run "$SCRIPT" "$(basename "$LOOP")" >"$T/dev.log" || { cat "$T/dev.log" >&2; die "DEVICE backup failed"; }
  grep -q "mounted /dev/" "$T/dev.log" || die "the device was not mounted"
  if grep -q " $T/run" /proc/mounts; then die "the stick is still mounted"; fi
  mount "$LOOP" "$T/m"
  [ "$(find "$T/m/outreach-hub-backups" -name '*.hubbackup' | wc -l)" -eq 1 ] || die "no backup on the $FS stick"
  [ -f "$T/m/LAST-BACKUP.txt" ] || die "no LAST-BACKUP.txt on the $FS stick"
  umount "$T/m"
  pass "DEVICE path: $FS image on $LOOP mounted (nosuid,nodev,noexec), backed up, unmounted"
else
  echo "  skipped: the DEVICE path (this machine cannot make a loop device: not root, or no losetup/mkfs)"
fi
echo "USB backup checks passed."
