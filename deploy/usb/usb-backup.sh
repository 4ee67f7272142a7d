#!/usr/bin/env bash
# usb-backup.sh: back up the hub to a USB stick when one is plugged in.
#
#   usb-backup.sh DEVICE         mount DEVICE (kernel name like sdb1, or /dev/sdb1), back up, unmount
#                                (started by outreach-hub-usb-backup@DEVICE.service from the udev rule)
#   usb-backup.sh --target DIR   back up into DIR, a stick that is already mounted (or a test directory)
#
# What it does: reads /etc/outreach-hub/hub.env (USB_BACKUP, USB_BACKUP_KEEP, HUB_DATA, HUB_NAME);
# with USB_BACKUP=marked (the default) only a stick with a top-level folder `outreach-hub-backups/` is
# used, with `all` any stick (the folder is created), with `off` none. The backup is made by
# `hub backup --out -` run AS THE SERVICE USER (never as root on the data directory), encrypted to the
# office's key and the hub's recovery key (public keys: no secret on the kit opens it; see `hub backup
# --help`), written to `outreach-hub-backups/<hub-name>-<UTC time>.hubbackup.partial`, synced, renamed,
# read back and compared with the SHA-256 the hub computed while writing, then only the newest
# USB_BACKUP_KEEP (5) backups of this hub are kept. A hub with neither an office nor a recovery key is
# refused (nothing written, the failure recorded). The stick gets LAST-BACKUP.txt
# (Vietnamese and English: date, size, how to restore); the result is appended to
# $HUB_DATA/last-backup.txt (shown by `hubctl status`) and logged (to the journal under systemd), without
# personal data.
#
# Environment (tests and unusual installs):
#   USB_BACKUP_ENV=FILE        config file (default /etc/outreach-hub/hub.env)
#   USB_BACKUP_HUB=PATH        hub binary (default /opt/outreach-hub/bin/hub)
#   USB_BACKUP_RUN_AS=USER     run the backup as USER (default outreach-hub; empty: as the caller)
#   USB_BACKUP_VERIFY=no       skip reading the backup back from the stick (default yes)
#   USB_BACKUP_MOUNT_BASE=DIR  where sticks are mounted (default /run/outreach-hub-usb)
#
# Exit codes: 0 backup written, or nothing to do (USB_BACKUP=off, stick not marked); 1 the backup failed
# (nothing half-written is left under a final name, e.g. the hub has no backup key); 2 wrong usage; 3 the
# kit is not set up (no config, no hub binary) or the device cannot be mounted.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ENV_FILE=${USB_BACKUP_ENV:-/etc/outreach-hub/hub.env}
HUB=${USB_BACKUP_HUB:-/opt/outreach-hub/bin/hub}
RUN_AS=${USB_BACKUP_RUN_AS-outreach-hub}
VERIFY=${USB_BACKUP_VERIFY:-yes}
MOUNT_BASE=${USB_BACKUP_MOUNT_BASE:-/run/outreach-hub-usb}
FOLDER=outreach-hub-backups

log() { echo "usb-backup: $*"; }
fail() { log "FAILED: $1"; record "FAILED: $1"; exit "${2:-1}"; }

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

MODE=""
ARG=""
case ${1-} in
  -h | --help) usage; exit 0 ;;
  --target) [ $# -eq 2 ] || { usage >&2; exit 2; }; MODE=target; ARG=$2 ;;
  "" | -*) usage >&2; exit 2 ;;
  *) [ $# -eq 1 ] || { usage >&2; exit 2; }; MODE=device; ARG=$1 ;;
esac

STATUS_FILE=""
# Appends one line to the status file hubctl shows (keeps the last 50 lines; owned like the data dir).
record() {
  [ -n "$STATUS_FILE" ] && [ -d "$(dirname "$STATUS_FILE")" ] || return 0
  {
    printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1"
  } >>"$STATUS_FILE" 2>/dev/null || return 0
  local tmp="$STATUS_FILE.tmp"
  if tail -n 50 "$STATUS_FILE" >"$tmp" 2>/dev/null; then mv -f "$tmp" "$STATUS_FILE"; fi
  chown --reference="$(dirname "$STATUS_FILE")" "$STATUS_FILE" 2>/dev/null || true
  chmod 0600 "$STATUS_FILE" 2>/dev/null || true
}

# --- Configuration ---------------------------------------------------------------------------------
ENV_LIB=""
for f in "$HERE/../lib/env.sh" /opt/outreach-hub/lib/env.sh; do
  if [ -r "$f" ]; then ENV_LIB=$f; break; fi
done
[ -n "$ENV_LIB" ] || { log "error: lib/env.sh not found next to $HERE (reinstall the kit)"; exit 3; }
# shellcheck source-path=SCRIPTDIR source=../lib/env.sh
. "$ENV_LIB"
env_load "$ENV_FILE" || { log "error: cannot read $ENV_FILE (is the kit installed?)"; exit 3; }
HUB_DATA=${HUB_DATA:-/var/lib/outreach-hub}
STATUS_FILE=$HUB_DATA/last-backup.txt
POLICY=${USB_BACKUP:-marked}
KEEP=${USB_BACKUP_KEEP:-5}
case $POLICY in
  off) log "USB_BACKUP=off in $ENV_FILE: not backing up to USB sticks"; exit 0 ;;
  marked | all) ;;
  *) log "error: USB_BACKUP=$POLICY in $ENV_FILE; use marked, all or off"; exit 3 ;;
esac
[[ $KEEP =~ ^[1-9][0-9]*$ ]] || { log "error: USB_BACKUP_KEEP=$KEEP in $ENV_FILE; use a number from 1"; exit 3; }
[ -x "$HUB" ] || { log "error: the hub binary $HUB is missing"; exit 3; }
[ -d "$HUB_DATA" ] || { log "error: the data directory $HUB_DATA does not exist (has the hub run once?)"; exit 3; }
# No secret is read: the backup is encrypted to public keys.
unset HUB_BACKUP_PASSPHRASE

# --- The stick -------------------------------------------------------------------------------------
MNT=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  if [ -n "$MNT" ]; then
    sync
    umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
    rmdir "$MNT" 2>/dev/null || true
  fi
}
trap cleanup EXIT

if [ "$MODE" = device ]; then
  DEV=/dev/${ARG#/dev/}
  [ -b "$DEV" ] || { log "error: $DEV is not a block device"; exit 3; }
  mkdir -p "$MOUNT_BASE"
  chmod 0700 "$MOUNT_BASE"
  MNT=$MOUNT_BASE/$(basename "$DEV")
  mkdir -p "$MNT"
  if ! mount -o nosuid,nodev,noexec "$DEV" "$MNT"; then
    rmdir "$MNT" 2>/dev/null || true
    MNT=""
    fail "cannot mount $DEV (not a filesystem Linux can write?)" 3
  fi
  TARGET=$MNT
  log "mounted $DEV"
else
  TARGET=$ARG
  [ -d "$TARGET" ] || { log "error: $TARGET is not a directory"; exit 2; }
fi

DIR=$TARGET/$FOLDER
if [ ! -d "$DIR" ]; then
  if [ "$POLICY" = marked ]; then
    log "this stick has no top-level folder $FOLDER/: not used (USB_BACKUP=marked). Create the folder to use it."
    exit 0
  fi
  mkdir "$DIR" || fail "cannot create $FOLDER/ on the stick (read-only or full?)"
fi

# --- The backup ------------------------------------------------------------------------------------
# File names: ASCII letters, digits and dashes from the hub's name (Vietnamese letters lose their marks).
NAME=${HUB_NAME:-hub}
if command -v iconv >/dev/null 2>&1; then
  NAME=$(printf '%s' "$NAME" | sed -e 's/Đ/D/g' -e 's/đ/d/g' | iconv -f UTF-8 -t ASCII//TRANSLIT 2>/dev/null || printf '%s' "$NAME")
fi
NAME=$(printf '%s' "$NAME" | tr -c 'A-Za-z0-9-' '-' | tr -s '-' | sed -e 's/^-//' -e 's/-$//' | cut -c1-40)
NAME=${NAME:-hub}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
FINAL=$DIR/$NAME-$STAMP.hubbackup
PARTIAL=$FINAL.partial

NEED_KB=$(du -sk "$HUB_DATA" 2>/dev/null | cut -f1 || echo 0)
FREE_KB=$(df -Pk "$DIR" | awk 'NR==2 {print $4}')
if [ -n "$FREE_KB" ] && [ "$FREE_KB" -lt "$NEED_KB" ]; then
  fail "the stick has $((FREE_KB / 1024)) MB free; the backup needs up to $((NEED_KB / 1024)) MB"
fi

RUN=("$HUB")
if [ -n "$RUN_AS" ]; then RUN=(runuser -u "$RUN_AS" -- "$HUB"); fi
log "backing up $HUB_DATA to $(basename "$FINAL")"
START=$(date +%s)
ERR=$(mktemp)
rm -f "$PARTIAL"
# The hub writes the archive on stdout (as the service user); root writes it to the stick.
if ! (cd / && HUB_LOG=warn "${RUN[@]}" backup --data "$HUB_DATA" --out - >"$PARTIAL" 2>"$ERR"); then
  MSG=$(tail -n 3 "$ERR" | tr '\n' ' ')
  rm -f "$PARTIAL" "$ERR"
  fail "hub backup: $MSG"
fi
SUMMARY=$(grep -m1 '^Backup of' "$ERR" || true)
NOTE=$(grep -m1 '^note: ' "$ERR" || true)
rm -f "$ERR"
sync "$PARTIAL" 2>/dev/null || sync
mv "$PARTIAL" "$FINAL"
sync "$DIR" 2>/dev/null || sync
SIZE=$(stat -c %s "$FINAL")
SIZE_H=$(numfmt --to=iec --suffix=B "$SIZE" 2>/dev/null || echo "$SIZE bytes")

if [ "$VERIFY" = yes ]; then
  # Read it back from the stick (cheap sticks can lose data silently) and compare with the SHA-256 the hub
  # computed while writing: the kit cannot decrypt its own backups, by design. The page cache is dropped
  # for the file first where the kernel allows it, so the bytes come from the stick.
  WANT=$(printf '%s' "$SUMMARY" | sed -n 's/.*sha256 \([0-9a-f]\{64\}\).*/\1/p')
  dd if="$FINAL" iflag=nocache count=0 status=none 2>/dev/null || true
  GOT=$(sha256sum "$FINAL" | cut -c1-64)
  if [ -z "$WANT" ] || [ "$GOT" != "$WANT" ]; then
    mv -f "$FINAL" "$FINAL.bad" 2>/dev/null || true
    fail "the backup written to the stick does not read back correctly (sha256 ${GOT:0:12}…, the hub wrote ${WANT:0:12}…); try another stick"
  fi
fi

# --- Keep the newest KEEP backups of this hub ------------------------------------------------------
mapfile -t OURS < <(find "$DIR" -maxdepth 1 -type f -name "$NAME-*.hubbackup" -printf '%f\n' | sort)
N=${#OURS[@]}
if [ "$N" -gt "$KEEP" ]; then
  for ((i = 0; i < N - KEEP; i++)); do
    rm -f -- "${DIR:?}/${OURS[$i]}"
    log "removed the old backup ${OURS[$i]}"
  done
fi
find "$DIR" -maxdepth 1 -type f -name "$NAME-*.hubbackup.partial" -delete 2>/dev/null || true
KEPT=$(find "$DIR" -maxdepth 1 -type f -name "$NAME-*.hubbackup" | wc -l)
ELAPSED=$(($(date +%s) - START))
WHEN=$(date -u '+%Y-%m-%d %H:%M UTC')

cat >"$TARGET/LAST-BACKUP.txt.tmp" <<TXT
SAO LƯU TRẠM OUTREACH / OUTREACH HUB BACKUP
============================================

Tiếng Việt
----------
Sao lưu gần nhất: $WHEN
Tệp: $FOLDER/$(basename "$FINAL")  ($SIZE_H)
Trên thẻ nhớ này có $KEPT bản sao lưu của trạm "${HUB_NAME:-hub}" (giữ $KEEP bản mới nhất).
Tệp được mã hoá bằng khoá của văn phòng xã và khoá khôi phục (in ra khi cài đặt, cất ở văn phòng xã).
Trên trạm không có khoá nào mở được tệp. Giữ thẻ nhớ ở nơi an toàn: trong đó có hồ sơ của người dân.

Khôi phục trên máy mới (Raspberry Pi hoặc máy tính đã cài bộ trạm):
  1. sudo systemctl stop outreach-hub
  2. sudo /opt/outreach-hub/bin/hub restore --data /var/lib/outreach-hub --from <tệp .hubbackup> --force
     (nhập khoá khôi phục AGE-SECRET-KEY-1… khi được hỏi, hoặc --identity <tệp khoá>; thư mục cũ được giữ
     lại với tên ...replaced-<giờ>)
  3. sudo systemctl start outreach-hub, rồi mở ứng dụng và kiểm tra hồ sơ.

English
-------
Last backup: $WHEN
File: $FOLDER/$(basename "$FINAL")  ($SIZE_H)
This stick holds $KEPT backup(s) of hub "${HUB_NAME:-hub}" (the newest $KEEP are kept).
The files are encrypted to the commune office's key and to the recovery key (printed at installation, kept
at the commune office). Nothing on the hub opens them. Keep the stick safe: it holds people's dossiers.

Restore on a new machine (a Raspberry Pi or laptop with the kit installed):
  1. sudo systemctl stop outreach-hub
  2. sudo /opt/outreach-hub/bin/hub restore --data /var/lib/outreach-hub --from <the .hubbackup file> --force
     (type the recovery key AGE-SECRET-KEY-1… when asked, or give --identity <key file>; the old directory
     is kept as ...replaced-<time>)
  3. sudo systemctl start outreach-hub, then open the app and check the dossiers.
TXT
mv -f "$TARGET/LAST-BACKUP.txt.tmp" "$TARGET/LAST-BACKUP.txt"
sync "$TARGET" 2>/dev/null || sync

log "OK: $(basename "$FINAL"), $SIZE_H in ${ELAPSED}s; $KEPT backup(s) on the stick. ${SUMMARY#Backup of }"
if [ -n "$NOTE" ]; then log "$NOTE"; fi
record "OK USB backup $(basename "$FINAL") $SIZE_H in ${ELAPSED}s ($KEPT kept on the stick)"
exit 0
