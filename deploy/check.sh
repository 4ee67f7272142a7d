#!/usr/bin/env bash
# The deployment kit's evidence (issue 7), run by tests/run-all.sh and by hand:
#   1. shellcheck on every script under deploy/ and tests/*.sh
#   2. install.sh twice into a throwaway root: the manifest (path, mode, owner, sha256) must not change;
#      modes of the secrets and the data dir; the USB receipt printer's udev rule, group lp for the service
#      user and the unit's device access; uninstall keeps data and config, --purge removes them
#   3. systemd-analyze verify on every unit in that root, and the unit's exposure score
#      (systemd-analyze security --offline)
#   4. the installed hub under the unit's main restrictions without systemd: as the service user, no new
#      privileges, only CAP_NET_BIND_SERVICE, read-only file system except its data dir, private /tmp,
#      own network namespace, listening on port 80: /healthz must answer; hubctl status and a hubctl
#      command against the same root
#   5. the other parts' checks: deploy/ap/test-netns.sh, deploy/usb/test.sh (when present)
#   6. aarch64: cross-build the hub, run it under qemu-aarch64-static (`--version`, then `serve`
#      answering /healthz); start time (spawn → /healthz 200) and idle RSS after 5 s, x86_64 native and
#      aarch64 under qemu
#
#   deploy/check.sh [--no-aarch64] [--figures-only]
#
# Environment: HUB_BIN (x86_64 hub for steps 2-4 and the figures; default target/debug/hub, built if
# missing), AARCH64_BIN (skip the cross-build and measure this binary), AARCH64_PROFILE (cargo profile of
# the cross-build; default cross-check: unoptimised, no LTO, fast enough for CI — the release figures come
# from deploy/build.sh's dist profile), DEPLOY_CHECK_TMP (where throwaway roots go; default target/).
#
# Exit codes: 0 all passed; 1 a check failed (the message says which); 2 wrong usage; 3 a tool is missing
# and could not be installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD

AARCH64=1
FIGURES_ONLY=0
for a in "$@"; do
  case $a in
    --no-aarch64) AARCH64=0 ;;
    --figures-only) FIGURES_ONLY=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown option $a" >&2; exit 2 ;;
  esac
done

step() { printf '\n--> %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
apt_need=()
need_tool() { command -v "$1" >/dev/null 2>&1 || apt_need+=("$2"); }
need_tool shellcheck shellcheck
need_tool systemd-analyze systemd
need_tool systemd-sysusers systemd
need_tool setpriv util-linux
need_tool curl curl
need_tool bc bc
need_tool file file
need_tool python3 python3
# deploy/ap/test-netns.sh: the access point's DNS/DHCP and hostapd's parser in network namespaces
need_tool ip iproute2
need_tool dnsmasq dnsmasq-base
need_tool hostapd hostapd
need_tool dig dnsutils
need_tool unshare util-linux
if [ "$AARCH64" = 1 ]; then
  need_tool qemu-aarch64-static qemu-user-static
  need_tool aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
  [ -d /usr/aarch64-linux-gnu/lib ] || apt_need+=(libc6-dev-arm64-cross)
fi
if [ ${#apt_need[@]} -gt 0 ]; then
  step "Installing ${apt_need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_need[@]}" >/dev/null ||
    { echo "error: cannot install ${apt_need[*]}" >&2; exit 3; }
fi

TMPBASE=${DEPLOY_CHECK_TMP:-$REPO/target}
mkdir -p "$TMPBASE"
WORK=$(mktemp -d "$TMPBASE/deploy-check.XXXXXX")
chmod 0755 "$WORK"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

HUB_BIN=${HUB_BIN:-$REPO/target/debug/hub}
if [ ! -x "$HUB_BIN" ]; then
  step "Building the hub (debug)"
  cargo build -p hub
fi

# measure LABEL CMD...: spawn CMD (a hub serving 127.0.0.1:0: the kernel picks the port and the hub's banner
# names it, so no other process can take it in between), print start time to /healthz 200 and the idle RSS
# after 5 s; leaves the process stopped.
measure() {
  local label=$1 base="" t0 t1 pid rss i=0
  shift
  t0=$(date +%s%N)
  "$@" >"$WORK/measure.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  until [ -n "$base" ] && curl -fsS -o /dev/null --max-time 2 "$base/healthz" 2>/dev/null; do
    [ -n "$base" ] || base=$(grep -m1 -o 'http://127\.0\.0\.1:[0-9]*' "$WORK/measure.log" || true)
    i=$((i + 1))
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/measure.log" >&2; fail "$label: the hub exited before answering /healthz"; }
    [ $i -lt 3000 ] || fail "$label: no /healthz answer within 60 s"
    sleep 0.02
  done
  t1=$(date +%s%N)
  sleep 5
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"
  wait "$pid" || true
  printf '%-42s start %5d ms   idle RSS %6.1f MiB\n' "$label" $(((t1 - t0) / 1000000)) "$(echo "$rss / 1024" | bc -l)"
}

if [ "$FIGURES_ONLY" = 0 ]; then
  # --- 1. shellcheck ------------------------------------------------------------------------------
  step "shellcheck (deploy/ and tests/*.sh)"
  scripts=()
  while IFS= read -r -d '' f; do
    case $f in *.sh) scripts+=("$f") ;; *) head -c 64 "$f" | grep -qE '^#!.*(ba)?sh' && scripts+=("$f") ;; esac
  done < <(find deploy tests -maxdepth 1 -type f -print0; find deploy -mindepth 2 -type f -not -name '*.in' -print0)
  for f in deploy/lib/*.sh; do [ -e "$f" ] && scripts+=("$f"); done
  mapfile -t scripts < <(printf '%s\n' "${scripts[@]}" | grep -v '^tests/.*[^h]$' | sort -u)
  shellcheck -x -P SCRIPTDIR "${scripts[@]}" || fail "shellcheck"
  ok "shellcheck clean on ${#scripts[@]} scripts: ${scripts[*]}"

  # --- 2. install twice ---------------------------------------------------------------------------
  step "install.sh twice into a throwaway root (laptop kit)"
  R=$WORK/root
  manifest() {
    (cd "$1" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' p; do
      if [ -L "$p" ]; then
        printf '%s link %s\n' "$p" "$(readlink "$p")"
      elif [ -d "$p" ]; then
        printf '%s %s dir\n' "$p" "$(stat -c '%a %u:%g' "$p")"
      else
        printf '%s %s %s\n' "$p" "$(stat -c '%a %u:%g' "$p")" "$(sha256sum <"$p" | cut -c1-64)"
      fi
    done)
  }
  deploy/install.sh --root "$R" --kit laptop --bin "$HUB_BIN" >"$WORK/install1.log" 2>&1 ||
    { cat "$WORK/install1.log"; fail "install.sh (first run)"; }
  manifest "$R" >"$WORK/manifest1"
  deploy/install.sh --root "$R" --kit laptop --bin "$HUB_BIN" >"$WORK/install2.log" 2>&1 ||
    { cat "$WORK/install2.log"; fail "install.sh (second run)"; }
  manifest "$R" >"$WORK/manifest2"
  diff -u "$WORK/manifest1" "$WORK/manifest2" || fail "the second install changed the result"
  ok "identical manifests after two runs ($(wc -l <"$WORK/manifest1") entries)"
  grep -q 'Backup recovery key' "$WORK/install1.log" || fail "the first install did not print the backup recovery key"
  grep -q '^ *AGE-SECRET-KEY-1' "$WORK/install1.log" || fail "the first install did not print the recovery key's secret"
  if grep -q 'AGE-SECRET-KEY' "$WORK/install2.log"; then fail "the second install printed a recovery key again"; fi
  if grep -rqs "$(grep -m1 -o 'AGE-SECRET-KEY-1[A-Z0-9]*' "$WORK/install1.log")" "$R"; then
    fail "the recovery key's secret was written into the installed tree"
  fi
  [ ! -e "$R/etc/outreach-hub/backup.pass" ] || fail "a new install created backup.pass (backups use keys now)"
  SVC=$(grep '^outreach-hub:' "$R/etc/passwd" | cut -d: -f3,4) || fail "no outreach-hub user in $R/etc/passwd"
  expect_mode() { # PATH MODE OWNER
    local got
    got=$(stat -c '%a %u:%g' "$R$1")
    [ "$got" = "$2 $3" ] || fail "$1 is '$got', expected '$2 $3'"
  }
  expect_mode /etc/outreach-hub/hub.env 600 0:0
  expect_mode /var/lib/outreach-hub/backup-recovery-key.pub 644 "$SVC"
  expect_mode /etc/outreach-hub 700 0:0
  expect_mode /var/lib/outreach-hub 700 "$SVC"
  expect_mode /opt/outreach-hub/bin/hub 755 0:0
  expect_mode /usr/local/bin/hubctl 755 0:0
  expect_mode /etc/systemd/system/outreach-hub.service 644 0:0
  [ -L "$R/etc/systemd/system/multi-user.target.wants/outreach-hub.service" ] || fail "outreach-hub.service not enabled"
  grep -qx 'HUB_LISTEN=0.0.0.0:8080' "$R/etc/outreach-hub/hub.env" || fail "laptop kit: HUB_LISTEN is not 0.0.0.0:8080"
  if grep -q '^HUB_CAPTIVE_PORTAL=' "$R/etc/outreach-hub/hub.env"; then fail "laptop kit: the captive portal should be off"; fi
  if grep -qE '^[A-Z_]+=$' "$R/etc/outreach-hub/hub.env"; then fail "hub.env has an empty value (clap takes it as given)"; fi
  grep -q 'outreach-hub:x:.*:/var/lib/outreach-hub:/usr/sbin/nologin' "$R/etc/passwd" || fail "service user has a login shell or wrong home"
  ok "modes and owners as specified (service user $SVC)"
  # USB receipt printers (issue 21): /dev/usb/lp* is root:lp 0660; the service user writes to it as a member of lp.
  expect_mode /etc/udev/rules.d/60-outreach-printer.rules 644 0:0
  grep -qx 'ACTION!="remove", SUBSYSTEM=="usbmisc", KERNEL=="lp\[0-9\]\*", GROUP="lp", MODE="0660"' "$R/etc/udev/rules.d/60-outreach-printer.rules" ||
    fail "the printer udev rule does not give /dev/usb/lp* to group lp, mode 0660"
  grep -qE '^lp:[^:]*:[0-9]+:(.*,)?outreach-hub(,|$)' "$R/etc/group" || fail "the service user is not in group lp (USB receipt printers)"
  grep -qx 'SupplementaryGroups=lp' "$R/etc/systemd/system/outreach-hub.service" || fail "the unit does not run the hub in group lp"
  grep -qx 'DeviceAllow=char-usb rw' "$R/etc/systemd/system/outreach-hub.service" || fail "the unit's device policy does not allow USB printers"
  if grep -qx 'PrivateDevices=yes' "$R/etc/systemd/system/outreach-hub.service"; then fail "PrivateDevices=yes hides a printer plugged in after the start"; fi
  ok "USB receipt printers: udev rule installed, service user in group lp, unit allows /dev/usb/lp*"
  # A key added in a later version is appended; an edited value is kept.
  sed -i -e '/^USB_BACKUP_KEEP=/d' -e 's/^# HUB_NAME=$/HUB_NAME="Trạm thử"/' "$R/etc/outreach-hub/hub.env"
  deploy/install.sh --root "$R" --kit laptop --bin "$HUB_BIN" >"$WORK/install3.log" 2>&1 || fail "install.sh (third run)"
  grep -qx 'HUB_NAME="Trạm thử"' "$R/etc/outreach-hub/hub.env" || fail "re-install overwrote an edited value"
  grep -qx 'USB_BACKUP_KEEP=5' "$R/etc/outreach-hub/hub.env" || fail "re-install did not append a missing key"
  ok "re-install keeps edited values and appends missing keys"

  if [ -f deploy/systemd/outreach-hub-ap.service ]; then
    step "install.sh --kit pi-ap into a second root"
    RA=$WORK/root-ap
    deploy/install.sh --root "$RA" --kit pi-ap --bin "$HUB_BIN" >"$WORK/install-ap.log" 2>&1 ||
      { cat "$WORK/install-ap.log"; fail "install.sh --kit pi-ap"; }
    manifest "$RA" >"$WORK/manifest-ap1"
    deploy/install.sh --root "$RA" --kit pi-ap --bin "$HUB_BIN" >/dev/null 2>&1 || fail "install.sh --kit pi-ap (second run)"
    manifest "$RA" >"$WORK/manifest-ap2"
    diff -u "$WORK/manifest-ap1" "$WORK/manifest-ap2" || fail "pi-ap: the second install changed the result"
    grep -qx 'HUB_LISTEN=0.0.0.0:80' "$RA/etc/outreach-hub/hub.env" || fail "pi-ap kit: HUB_LISTEN is not 0.0.0.0:80"
    grep -qx 'HUB_CAPTIVE_PORTAL=http://10.42.0.1/' "$RA/etc/outreach-hub/hub.env" || fail "pi-ap kit: no captive portal"
    grep -qE '^HUB_WIFI_PASSWORD=.{8,63}$' "$RA/etc/outreach-hub/hub.env" || fail "pi-ap kit: no generated Wi-Fi passphrase"
    for u in outreach-hub outreach-hub-ap outreach-hub-hostapd outreach-hub-dnsmasq; do
      [ -e "$RA/etc/systemd/system/multi-user.target.wants/$u.service" ] ||
        ls "$RA"/etc/systemd/system/*.wants/"$u.service" >/dev/null 2>&1 || fail "pi-ap: $u.service not enabled"
    done
    [ -f "$RA/etc/udev/rules.d/60-outreach-printer.rules" ] || fail "pi-ap kit: no printer udev rule"
    grep -qE '^lp:[^:]*:[0-9]+:(.*,)?outreach-hub(,|$)' "$RA/etc/group" || fail "pi-ap kit: the service user is not in group lp"
    ok "pi-ap kit: identical manifests, port 80, captive portal, generated Wi-Fi passphrase, AP units enabled, printer rule and group lp"
  fi

  # --- 3. systemd-analyze ------------------------------------------------------------------------
  step "systemd-analyze verify (units in the throwaway root)"
  for root in "$R" ${RA:+"$RA"}; do
    # The distribution's own units (sysinit.target, network-online.target…) for the dependencies.
    mkdir -p "$root/usr/lib/systemd"
    cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
    # The distribution's programs the access-point units run (installed by the pi-ap kit's packages).
    if [ "$root" = "${RA:-}" ]; then
      mkdir -p "$root/usr/sbin"
      for b in dnsmasq hostapd; do cp -a "$(command -v "$b")" "$root/usr/sbin/$b"; done
    fi
    for u in "$root"/etc/systemd/system/*.service; do
      name=${u##*/}
      case $name in *@.service) name=${name%@.service}@check.service ;; esac
      out=$(systemd-analyze verify --man=no --generators=no --root="$root" "$name" 2>&1) || { echo "$out"; fail "systemd-analyze verify $name"; }
      if [ -n "$out" ]; then echo "$out"; fail "systemd-analyze verify $name printed warnings"; fi
      ok "verify $name"
    done
  done
  systemd-analyze security --offline=true --root="$R" outreach-hub.service >"$WORK/security.txt" 2>&1 || true
  grep -E '^✗' "$WORK/security.txt" | sed 's/  */ /g' || true
  grep -o 'Overall exposure level.*' "$WORK/security.txt" || fail "systemd-analyze security gave no score"

  # --- 4. the hub under the unit's restrictions ----------------------------------------------------
  step "the installed hub as the service user: no new privileges, CAP_NET_BIND_SERVICE only, read-only root, port 80"
  uid=${SVC%%:*}
  gid=${SVC##*:}
  cat >"$WORK/confined.sh" <<'EOF'
#!/usr/bin/env bash
# Inside fresh mount and network namespaces: read-only mounts, private /tmp, writable data dir only.
set -euo pipefail
R=$1 uid=$2 gid=$3
ip link set lo up
mount --make-rprivate /
# The throwaway root may live under /tmp (a checkout cloned there): see it at /mnt first, so the private
# /tmp mounted below does not hide it.
mount --rbind "$R" /mnt
R=/mnt
awk '{print $5}' /proc/self/mountinfo | sort -u | while read -r m; do
  case $m in /proc | /proc/* | /sys | /sys/* | /dev | /dev/*) continue ;; esac
  mount -o remount,bind,ro "$m" 2>/dev/null || true
done
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount --bind "$R/var/lib/outreach-hub" "$R/var/lib/outreach-hub"
mount -o remount,bind,rw "$R/var/lib/outreach-hub"
if touch "$R/opt/outreach-hub/probe" 2>/dev/null; then echo "root file system is writable" >&2; exit 1; fi
. "$R/opt/outreach-hub/lib/env.sh"
env_load "$R/etc/outreach-hub/hub.env"
export HUB_DATA=$R/var/lib/outreach-hub HUB_MDNS=off HUB_HTTPS_LISTEN=off HUB_LOG=warn
setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs \
  --inh-caps=-all,+net_bind_service --ambient-caps=-all,+net_bind_service \
  --bounding-set=-all,+net_bind_service \
  "$R/opt/outreach-hub/bin/hub" serve >/tmp/hub.log 2>&1 &
pid=$!
for _ in $(seq 1 1500); do
  if curl -fsS --max-time 2 http://127.0.0.1:80/healthz >/tmp/healthz 2>/dev/null; then break; fi
  kill -0 $pid 2>/dev/null || { cat /tmp/hub.log >&2; exit 1; }
  sleep 0.02
done
echo "healthz: $(cat /tmp/healthz)"
echo "runs as: $(awk '/^(Uid|NoNewPrivs|CapEff|CapBnd)/ {printf "%s %s  ", $1, $2}' /proc/$pid/status)"
ls -ln "$R/var/lib/outreach-hub" | awk 'NR>1 {print "data:", $1, $3":"$4, $NF}'
HUBCTL_ROOT=$R HUBCTL_RUN_AS="" "$R/usr/local/bin/hubctl" status
kill -TERM $pid
wait $pid
EOF
  # Port 80 as in the Pi kit (needs CAP_NET_BIND_SERVICE); the namespace has its own loopback only.
  sed -i 's/^HUB_LISTEN=.*/HUB_LISTEN=0.0.0.0:80/' "$R/etc/outreach-hub/hub.env"
  out=$(unshare --mount --net bash "$WORK/confined.sh" "$R" "$uid" "$gid" 2>&1) || { echo "$out"; fail "the hub did not serve under the restrictions"; }
  echo "$out"
  echo "$out" | grep -q '^healthz: {' || fail "no /healthz answer under the restrictions"
  echo "$out" | grep -q "Uid:* $uid" || fail "the hub did not run as the service user"
  echo "$out" | grep -q 'NoNewPrivs: 1' || fail "no_new_privs not set"
  if echo "$out" | grep '^data:' | grep -v " $uid:$gid " | grep -q .; then fail "files in the data dir not owned by the service user"; fi
  ok "the hub serves as uid $uid on port 80 with a read-only root; data files belong to the service user"
  # hubctl runs a hub command with hub.env loaded, as the service user (runuser), against the same root.
  keycard=$(HUBCTL_ROOT="$R" "$R/usr/local/bin/hubctl" key show 2>&1) || { echo "$keycard"; fail "hubctl key show"; }
  echo "$keycard" | grep -q . || fail "hubctl key show printed nothing"
  if find "$R/var/lib/outreach-hub" ! -uid "$uid" | grep -q .; then fail "hubctl left files not owned by the service user"; fi
  ok "hubctl key show runs as the service user with hub.env loaded"
  if HUBCTL_ROOT="$R" setpriv --reuid=65534 --regid=65534 --clear-groups "$R/usr/local/bin/hubctl" status >/dev/null 2>"$WORK/hubctl.err"; then
    fail "hubctl ran without root"
  fi
  grep -q 'sudo hubctl' "$WORK/hubctl.err" || fail "hubctl: no clear message without root"
  ok "hubctl refuses without root, saying to use sudo"

  step "uninstall keeps config and data; --purge removes them"
  deploy/install.sh --root "$R" --uninstall >/dev/null || fail "install.sh --uninstall"
  for p in /opt/outreach-hub /etc/systemd/system/outreach-hub.service /usr/local/bin/hubctl /etc/udev/rules.d/60-outreach-printer.rules; do
    [ ! -e "$R$p" ] || fail "uninstall left $p"
  done
  for p in /etc/outreach-hub/hub.env /var/lib/outreach-hub/backup-recovery-key.pub; do
    [ -e "$R$p" ] || fail "uninstall removed $p"
  done
  deploy/install.sh --root "$R" --uninstall --purge --yes >/dev/null || fail "install.sh --uninstall --purge"
  for p in /etc/outreach-hub /var/lib/outreach-hub; do
    [ ! -e "$R$p" ] || fail "purge left $p"
  done
  ok "uninstall and purge"

  # --- 5. the other parts' checks ------------------------------------------------------------------
  for t in deploy/ap/test-netns.sh deploy/usb/test.sh; do
    if [ -f "$t" ]; then
      step "$t"
      HUB_BIN="$HUB_BIN" bash "$t" || fail "$t"
    fi
  done
fi

# --- 6. aarch64 under qemu, and the figures --------------------------------------------------------
if [ "$AARCH64" = 1 ]; then
  step "aarch64: build and run under qemu-aarch64-static"
  if [ -z "${AARCH64_BIN:-}" ]; then
    PROFILE=${AARCH64_PROFILE:-cross-check}
    if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
      rustup target add aarch64-unknown-linux-gnu
    fi
    t0=$(date +%s)
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
      cargo build --profile "$PROFILE" --target aarch64-unknown-linux-gnu -p hub --features vendored-openssl
    echo "aarch64 build (profile $PROFILE): $(($(date +%s) - t0)) s"
    AARCH64_BIN=${CARGO_TARGET_DIR:-$REPO/target}/aarch64-unknown-linux-gnu/$PROFILE/hub
  fi
  file "$AARCH64_BIN" 2>/dev/null | grep -q 'ARM aarch64' || fail "$AARCH64_BIN is not an aarch64 binary"
  echo "aarch64 binary: $(stat -c %s "$AARCH64_BIN") bytes ($AARCH64_BIN)"
  QEMU=(qemu-aarch64-static -L /usr/aarch64-linux-gnu)
  v=$("${QEMU[@]}" "$AARCH64_BIN" --version) || fail "hub --version under qemu"
  echo "under qemu: $v"
  step "Start time and idle RSS (spawn → /healthz 200; VmRSS 5 s later)"
  measure "x86_64 native ($(basename "$(dirname "$HUB_BIN")"))" \
    "$HUB_BIN" serve --data "$WORK/fig-x86" --listen 127.0.0.1:0 --mdns off --https-listen off
  measure "aarch64 under qemu-aarch64-static" \
    "${QEMU[@]}" "$AARCH64_BIN" serve --data "$WORK/fig-arm" --listen 127.0.0.1:0 --mdns off --https-listen off
  echo "(under qemu, RSS includes the emulator and its code cache; start includes creating the data directory and keys)"
fi

step "deploy checks passed"
