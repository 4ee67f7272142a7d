#!/usr/bin/env bash
# Installs (or updates) the outreach hub kit on a Debian / Raspberry Pi OS machine with systemd:
# the service user, the binary and kit files, the one config file, the data directory and the units,
# then starts the hub. Running it again gives the same result: config files that exist are never
# overwritten (keys new in this version are appended), the data is never touched.
#
#   sudo ./install.sh --kit pi-ap           # Raspberry Pi that is its own Wi-Fi access point
#   sudo ./install.sh --kit laptop          # laptop or PC on an existing network (port 8080)
#   sudo ./install.sh --uninstall [--purge] # remove the kit (keeps data and config unless --purge)
#
# Options:
#   --kit pi-ap|laptop     which kit (default laptop)
#   --mode field|office    hub mode written into a new hub.env (default field)
#   --bin PATH             the hub binary (default: bin/hub next to this script, as in the release tarball)
#   --root DIR             install into DIR as a throwaway root (tests, images): every path is prefixed by
#                          DIR; no service is started, no host user is created (systemd-sysusers --root)
#   --install-packages     pi-ap kit: apt-get install hostapd and dnsmasq when missing
#   --uninstall            stop and remove the services and kit files; keep /etc/outreach-hub and the data
#   --purge                with --uninstall: also delete the config and ALL DATA (asks to type DELETE
#                          unless --yes)
#   --yes                  do not ask
#   -h, --help             this help
#
# Exit codes: 0 done; 1 a step failed; 2 wrong usage; 3 a prerequisite is missing (the message says
# what to do).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=""
KIT=laptop
MODE=field
BIN=""
INSTALL_PACKAGES=0
UNINSTALL=0
PURGE=0
YES=0

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() { echo "error: $1" >&2; exit "${2:-1}"; }
say() { printf '%s\n' "$*"; }

while [ $# -gt 0 ]; do
  case $1 in
    --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
    --root=*) ROOT=${1#*=}; shift ;;
    --kit) KIT=${2:?--kit needs pi-ap or laptop}; shift 2 ;;
    --kit=*) KIT=${1#*=}; shift ;;
    --mode) MODE=${2:?--mode needs field or office}; shift 2 ;;
    --mode=*) MODE=${1#*=}; shift ;;
    --bin) BIN=${2:?--bin needs a path}; shift 2 ;;
    --bin=*) BIN=${1#*=}; shift ;;
    --install-packages) INSTALL_PACKAGES=1; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    --yes | -y) YES=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "error: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

case $KIT in pi-ap | laptop) ;; *) die "--kit must be pi-ap or laptop, not '$KIT'" 2 ;; esac
case $MODE in field | office) ;; *) die "--mode must be field or office, not '$MODE'" 2 ;; esac
[ "$PURGE" = 1 ] && [ "$UNINSTALL" = 0 ] && die "--purge goes with --uninstall" 2
if [ -n "$ROOT" ]; then
  mkdir -p "$ROOT"
  ROOT=$(cd "$ROOT" && pwd)
  [ "$ROOT" = / ] && ROOT=""
fi

# --- Prerequisites -------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "run as root: sudo $0 $*" 3
if [ -z "$ROOT" ] && [ ! -d /run/systemd/system ]; then
  die "this machine does not run systemd. On a laptop without systemd run the hub in the foreground instead: deploy/laptop.sh (see docs/deployment.md)" 3
fi
for tool in install systemctl; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing (install the systemd package)" 3
done

APP=/opt/outreach-hub
ETC=/etc/outreach-hub
DATA=/var/lib/outreach-hub
UNITS=/etc/systemd/system
SVC_USER=outreach-hub
AP_UNITS=(outreach-hub-ap.service outreach-hub-hostapd.service outreach-hub-dnsmasq.service)

live() { [ -z "$ROOT" ]; }
sctl() { if live; then systemctl "$@"; else systemctl --root="$ROOT" "$@"; fi; }

# --- Uninstall -----------------------------------------------------------------------------------
if [ "$UNINSTALL" = 1 ]; then
  if [ "$PURGE" = 1 ] && [ "$YES" = 0 ]; then
    printf 'This deletes %s and %s: ALL DOSSIERS on this hub. Make a backup first (hubctl backup).\nType DELETE to go on: ' "$ROOT$DATA" "$ROOT$ETC"
    read -r answer || answer=""
    [ "$answer" = DELETE ] || die "nothing deleted" 1
  fi
  units=(outreach-hub.service "${AP_UNITS[@]}")
  for u in "${units[@]}"; do
    [ -e "$ROOT$UNITS/$u" ] || continue
    if live; then systemctl disable --now "$u" 2>/dev/null || true; else sctl disable "$u" >/dev/null 2>&1 || true; fi
    rm -f "$ROOT$UNITS/$u"
  done
  rm -f "$ROOT$UNITS/outreach-hub-usb-backup@.service" "$ROOT"/etc/udev/rules.d/90-outreach-hub-usb-backup.rules "$ROOT"/usr/local/bin/hubctl
  rm -f "$ROOT"/etc/udev/rules.d/60-outreach-printer.rules
  rm -f "$ROOT"/etc/NetworkManager/conf.d/outreach-hub-*.conf
  rm -rf "${ROOT:?}$APP"
  if live; then
    systemctl daemon-reload
    if command -v udevadm >/dev/null 2>&1; then udevadm control --reload || true; fi
  fi
  if [ "$PURGE" = 1 ]; then
    rm -rf "${ROOT:?}$ETC" "${ROOT:?}$DATA" "$ROOT"/usr/lib/sysusers.d/outreach-hub.conf
    say "Removed the kit, its config and its data. The system user '$SVC_USER' stays (remove it with: userdel $SVC_USER)."
  else
    say "Removed the kit. Kept the config ($ETC) and the data ($DATA): reinstalling picks them up again."
  fi
  exit 0
fi

# --- What to install -----------------------------------------------------------------------------
if [ -z "$BIN" ]; then
  BIN=$SRC/bin/hub
  [ -x "$BIN" ] || die "no hub binary at $BIN: run this script from the release tarball, or give --bin PATH (e.g. target/release/hub)" 3
fi
[ -x "$BIN" ] || die "--bin $BIN is not an executable file" 3
[ -f "$SRC/hub.env.example" ] || die "hub.env.example missing next to $0: the kit is incomplete" 3
[ -f "$SRC/systemd/outreach-hub.service" ] || die "systemd/outreach-hub.service missing next to $0: the kit is incomplete" 3
command -v systemd-sysusers >/dev/null 2>&1 || die "'systemd-sysusers' is missing (install the systemd package)" 3

if [ "$KIT" = pi-ap ]; then
  missing=()
  command -v hostapd >/dev/null 2>&1 || [ -x "$ROOT/usr/sbin/hostapd" ] || missing+=(hostapd)
  command -v dnsmasq >/dev/null 2>&1 || [ -x "$ROOT/usr/sbin/dnsmasq" ] || missing+=(dnsmasq)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$INSTALL_PACKAGES" = 1 ] && live; then
      say "Installing ${missing[*]} ..."
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    elif live; then
      die "the access point needs ${missing[*]}: run 'sudo apt-get install ${missing[*]}' (with internet) or add --install-packages" 3
    else
      say "note: ${missing[*]} not in $ROOT (needed on the real machine for the access point)"
    fi
  fi
  [ -d "$SRC/ap" ] || die "ap/ missing next to $0: this kit has no access-point part; use --kit laptop" 3
fi

# --- Helpers -------------------------------------------------------------------------------------
# Numeric ids of the service user inside ROOT (chown by name would ask the host's user database).
svc_ids() {
  local passwd=$ROOT/etc/passwd line
  line=$(grep "^$SVC_USER:" "$passwd" 2>/dev/null) || die "user $SVC_USER was not created in $passwd"
  IFS=: read -r _ _ SVC_UID SVC_GID _ <<<"$line"
}

# put SRC DEST MODE: install a file as root:root with MODE (only rewritten when it differs).
put() {
  local src=$1 dest=$ROOT$2 mode=$3
  if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
    chmod "$mode" "$dest"
    chown 0:0 "$dest"
  else
    install -D -o 0 -g 0 -m "$mode" "$src" "$dest"
  fi
}

# copy_tree DIR DEST: kit folder → DEST, scripts 0755, other files 0644, folders 0755.
copy_tree() {
  local from=$1 to=$2 f rel mode
  while IFS= read -r -d '' f; do
    rel=${f#"$from"/}
    mode=0644
    case $f in *.sh) mode=0755 ;; esac
    [ -x "$f" ] && mode=0755
    put "$f" "$to/$rel" "$mode"
  done < <(find "$from" -type f -print0 | sort -z)
  find "$ROOT$to" -type d -exec chmod 0755 {} + -exec chown 0:0 {} +
}

random_text() { # random_text N: N characters from an unambiguous alphabet
  local out="" c
  while [ ${#out} -lt "$1" ]; do
    c=$(head -c 64 /dev/urandom | tr -dc 'abcdefghijkmnpqrstuvwxyz23456789')
    out=$out$c
  done
  printf '%s' "${out:0:$1}"
}

# set_key FILE KEY VALUE: set KEY in a file being created, replacing its first `KEY=` or commented
# `# KEY=` line (appended when there is none).
set_key() {
  local file=$1 key=$2 value=$3 tmp
  tmp=$(mktemp)
  awk -v k="$key" -v v="$value" 'BEGIN{d=0} { l=$0; sub(/^# ?/, "", l); if (!d && index(l, k "=") == 1) { print k "=" v; d=1 } else print } END{ if (!d) print k "=" v }' "$file" >"$tmp"
  cat "$tmp" >"$file"
  rm -f "$tmp"
}

# --- Service user --------------------------------------------------------------------------------
put "$SRC/sysusers.d/outreach-hub.conf" /usr/lib/sysusers.d/outreach-hub.conf 0644
if live; then
  systemd-sysusers /usr/lib/sysusers.d/outreach-hub.conf
else
  install -d -m 0755 "$ROOT/etc"
  systemd-sysusers --root="$ROOT" "$ROOT/usr/lib/sysusers.d/outreach-hub.conf"
fi
svc_ids

# --- Binary and kit files ------------------------------------------------------------------------
put "$BIN" "$APP/bin/hub" 0755
put "$SRC/lib/env.sh" "$APP/lib/env.sh" 0644
put "$SRC/hub.env.example" "$APP/hub.env.example" 0644
put "$SRC/install.sh" "$APP/install.sh" 0755
put "$SRC/hubctl" "$APP/hubctl" 0755
put "$SRC/hubctl" /usr/local/bin/hubctl 0755
for doc in README.txt FIELD-CHECKLIST.md; do
  if [ -f "$SRC/$doc" ]; then put "$SRC/$doc" "$APP/$doc" 0644; fi
done
for part in usb ap; do
  if [ -d "$SRC/$part" ]; then copy_tree "$SRC/$part" "$APP/$part"; fi
done
for d in "$ROOT$APP" "$ROOT$APP/bin" "$ROOT$APP/lib"; do chmod 0755 "$d"; chown 0:0 "$d"; done

# --- Units and udev rule -------------------------------------------------------------------------
put "$SRC/systemd/outreach-hub.service" "$UNITS/outreach-hub.service" 0644
if [ -f "$SRC/systemd/outreach-hub-usb-backup@.service" ]; then
  put "$SRC/systemd/outreach-hub-usb-backup@.service" "$UNITS/outreach-hub-usb-backup@.service" 0644
fi
if [ -f "$SRC/usb/90-outreach-hub-usb-backup.rules" ]; then
  put "$SRC/usb/90-outreach-hub-usb-backup.rules" /etc/udev/rules.d/90-outreach-hub-usb-backup.rules 0644
fi
# USB receipt printers (/dev/usb/lp*) writable by group lp, which the service user is in (both kits).
if [ -f "$SRC/udev/60-outreach-printer.rules" ]; then
  put "$SRC/udev/60-outreach-printer.rules" /etc/udev/rules.d/60-outreach-printer.rules 0644
fi
if [ "$KIT" = pi-ap ]; then
  for u in "${AP_UNITS[@]}"; do
    [ -f "$SRC/systemd/$u" ] || die "systemd/$u missing next to $0: the access-point part of the kit is incomplete" 3
    put "$SRC/systemd/$u" "$UNITS/$u" 0644
  done
fi

# --- Config --------------------------------------------------------------------------------------
install -d -o 0 -g 0 -m 0700 "$ROOT$ETC"
ENV=$ROOT$ETC/hub.env
NEW_SECRETS=()
if [ ! -f "$ENV" ]; then
  tmp=$(mktemp)
  cp "$SRC/hub.env.example" "$tmp"
  set_key "$tmp" HUB_MODE "$MODE"
  if [ "$KIT" = pi-ap ]; then
    set_key "$tmp" HUB_LISTEN 0.0.0.0:80
    set_key "$tmp" HUB_CAPTIVE_PORTAL "http://$(grep -m1 '^AP_ADDRESS=' "$tmp" | cut -d= -f2)/"
    if ! grep -q '^HUB_WIFI_PASSWORD=.' "$tmp"; then
      set_key "$tmp" HUB_WIFI_PASSWORD "$(random_text 12)"
      NEW_SECRETS+=(wifi)
    fi
  else
    set_key "$tmp" HUB_LISTEN 0.0.0.0:8080
  fi
  install -o 0 -g 0 -m 0600 "$tmp" "$ENV"
  rm -f "$tmp"
  say "Wrote $ETC/hub.env ($KIT kit, $MODE mode)."
else
  # Keep every existing line; append keys this version knows and the file lacks (with their defaults).
  added=()
  while IFS= read -r line; do
    key=${line%%=*}
    grep -q "^$key=" "$ENV" || { printf '%s\n' "$line" >>"$ENV"; added+=("$key"); }
  done < <(grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$SRC/hub.env.example")
  chmod 0600 "$ENV"
  chown 0:0 "$ENV"
  if [ ${#added[@]} -gt 0 ]; then say "Kept $ETC/hub.env; added new keys: ${added[*]}"; else say "Kept $ETC/hub.env."; fi
fi
# Backups are encrypted to public keys (the office's, and the recovery key made below): no backup secret
# is kept on the kit. A backup.pass left by an older version is not used for new backups any more; it is
# kept (older backups on sticks still need that passphrase, which is also on the card at the office).
OLD_PASS=$ROOT$ETC/backup.pass
[ ! -f "$OLD_PASS" ] || chmod 0600 "$OLD_PASS"

# --- Data directory ------------------------------------------------------------------------------
install -d -o "$SVC_UID" -g "$SVC_GID" -m 0700 "$ROOT$DATA"
chown "$SVC_UID:$SVC_GID" "$ROOT$DATA"
chmod 0700 "$ROOT$DATA"

# --- Backup recovery key -------------------------------------------------------------------------
# Made once: only its public part stays on the kit (DATA/backup-recovery-key.pub); the secret is printed
# below, once, to be written down and kept at the office. The hub's database is not opened.
# An image built on another architecture (--root with an aarch64 binary) cannot run the hub here: the key
# is then made on the kit itself (each kit its own), and the summary says how.
RECOVERY_OUT=""
if [ ! -f "$ROOT$DATA/backup-recovery-key.pub" ]; then
  if "$ROOT$APP/bin/hub" --version >/dev/null 2>&1; then
    RECOVERY_OUT=$("$ROOT$APP/bin/hub" backup recovery-key new --data "$ROOT$DATA") ||
      die "could not make the backup recovery key ($ROOT$APP/bin/hub backup recovery-key new)"
    chown "$SVC_UID:$SVC_GID" "$ROOT$DATA/backup-recovery-key.pub"
    NEW_SECRETS+=(recovery)
  else
    NEW_SECRETS+=(no-recovery)
  fi
fi

# --- Enable and start ----------------------------------------------------------------------------
ENABLE=(outreach-hub.service)
if [ "$KIT" = pi-ap ]; then ENABLE+=("${AP_UNITS[@]}"); fi
if live; then
  systemctl daemon-reload
  if [ "$KIT" = pi-ap ]; then
    # Debian's own hostapd/dnsmasq services would fight ours for the radio and port 53.
    for s in hostapd.service dnsmasq.service; do
      if systemctl list-unit-files "$s" >/dev/null 2>&1 && systemctl cat "$s" >/dev/null 2>&1; then
        systemctl disable --now "$s" >/dev/null 2>&1 || true
      fi
    done
  fi
  systemctl enable "${ENABLE[@]}"
  systemctl restart "${ENABLE[@]}"
  if command -v udevadm >/dev/null 2>&1 && [ -f /etc/udev/rules.d/90-outreach-hub-usb-backup.rules ]; then
    udevadm control --reload
  fi
  # A printer plugged in before this install gets the printer rule's group and mode now, not at next plug-in.
  if command -v udevadm >/dev/null 2>&1 && [ -f /etc/udev/rules.d/60-outreach-printer.rules ]; then
    udevadm control --reload
    udevadm trigger --action=change --subsystem-match=usbmisc || true
  fi
else
  sctl enable "${ENABLE[@]}" >/dev/null 2>&1 || die "systemctl --root=$ROOT enable ${ENABLE[*]} failed"
fi

# --- What next -----------------------------------------------------------------------------------
val() { grep -m1 "^$1=" "$ENV" | cut -d= -f2- | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/"; }
say ""
say "The outreach hub is installed ($KIT kit, $(val HUB_MODE) mode)."
if [[ " ${NEW_SECRETS[*]-} " == *" recovery "* ]]; then
  say ""
  say "  Backup recovery key (shown ONCE; write it down or print it, keep it at the office, never with"
  say "  the kit). Backups are encrypted to it and, once paired, to the office's key:"
  say ""
  printf '%s\n' "$RECOVERY_OUT" | sed 's/^/    /'
  RECOVERY_OUT=""
  if [ -f "$OLD_PASS" ]; then
    say ""
    say "  New backups no longer use the passphrase in $ETC/backup.pass. Keep the passphrase card for"
    say "  older backups; delete the file after the next good backup: sudo rm $ETC/backup.pass"
  fi
fi
if [[ " ${NEW_SECRETS[*]-} " == *" no-recovery "* ]]; then
  say ""
  say "  No backup recovery key yet (the hub binary does not run on this machine). On the kit, run once:"
  say "      sudo hubctl backup recovery-key new"
  say "  and keep the printed key at the office. Until then, or until it is paired, backups are refused."
fi
port=$(val HUB_LISTEN); port=${port##*:}
if [ "$KIT" = pi-ap ]; then
  say ""
  say "  Phones join the Wi-Fi \"$(val HUB_WIFI_SSID)\", password: $(val HUB_WIFI_PASSWORD)"
  say "  then open http://$(val AP_ADDRESS)/ (most phones open it by themselves)."
else
  ip=$(hostname -I 2>/dev/null | awk '{print $1}')
  say ""
  say "  Phones on the same network open http://${ip:-THIS-COMPUTER-IP}:$port/"
fi
say ""
say "  First time: create the admin account:  sudo hubctl user add --role admin --name YOUR-NAME"
say "  How it is doing:                        sudo hubctl status"
say "  Settings: $ETC/hub.env (then: sudo systemctl restart outreach-hub)"
if ! live; then
  say ""
  say "(Installed into $ROOT: nothing was started.)"
fi
