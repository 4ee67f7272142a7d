#!/usr/bin/env bash
# The outreach hub's Wi-Fi access point: renders the hostapd and dnsmasq configurations from the kit's one
# config file (/etc/outreach-hub/hub.env) and brings the access-point interface up or down.
#
# Usage:
#   ap.sh [--env FILE] check            validate the access-point settings and say what is wrong
#   ap.sh [--env FILE] render OUTDIR    write hostapd.conf, dnsmasq.conf, NetworkManager-unmanaged.conf
#   ap.sh [--env FILE] up               (root) render into /run/outreach-hub-ap, unblock the radio, keep
#                                       NetworkManager off the interface, give it AP_ADDRESS/AP_PREFIX
#   ap.sh [--env FILE] down             (root) remove the address, take the interface down
#
# Settings (hub.env): HUB_WIFI_SSID (1-32 bytes), HUB_WIFI_PASSWORD (WPA2: 8-63 printable ASCII characters),
# AP_INTERFACE (wlan0; wlan1 for a USB Wi-Fi adapter), AP_ADDRESS (10.42.0.1), AP_PREFIX (24),
# AP_DHCP_FIRST (10.42.0.20), AP_DHCP_LAST (10.42.0.250), AP_COUNTRY (VN), AP_CHANNEL (6; 1-13 on 2.4 GHz,
# or 36/40/44/48 on 5 GHz), AP_MAX_STATIONS (10 on wlan0, 40 on another adapter), HUB_CAPTIVE_PORTAL.
#
# Exit codes: 0 done; 1 a system command failed; 2 wrong usage; 3 a setting is invalid (the message says
# which and how to fix it); 4 the interface does not exist (adapter not plugged in?).
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ENV_FILE=/etc/outreach-hub/hub.env
RUN_DIR=/run/outreach-hub-ap

usage() {
  sed -n '5,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

fail() {
  echo "ap.sh: $*" >&2
  exit 1
}

ERRORS=()
bad() { ERRORS+=("$*"); }

# Dotted quad → integer; returns 1 when not an IPv4 address.
ip_to_int() {
  local a b c d
  [[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || return 1
  a=$((10#${BASH_REMATCH[1]})) b=$((10#${BASH_REMATCH[2]})) c=$((10#${BASH_REMATCH[3]})) d=$((10#${BASH_REMATCH[4]}))
  ((a <= 255 && b <= 255 && c <= 255 && d <= 255)) || return 1
  echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

int_to_ip() {
  echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"
}

# Reads hub.env and checks every access-point setting; fills the globals the templates use (read through
# ${!key} in render_one, hence SC2034).
# shellcheck disable=SC2034
load_settings() {
  # shellcheck source=SCRIPTDIR/../lib/env.sh
  . "$HERE/../lib/env.sh"
  env_load "$ENV_FILE" || exit 3

  AP_INTERFACE=${AP_INTERFACE:-wlan0}
  AP_ADDRESS=${AP_ADDRESS:-10.42.0.1}
  AP_PREFIX=${AP_PREFIX:-24}
  AP_DHCP_FIRST=${AP_DHCP_FIRST:-10.42.0.20}
  AP_DHCP_LAST=${AP_DHCP_LAST:-10.42.0.250}
  AP_COUNTRY=${AP_COUNTRY:-VN}
  AP_CHANNEL=${AP_CHANNEL:-6}
  HUB_WIFI_SSID=${HUB_WIFI_SSID:-}
  HUB_WIFI_PASSWORD=${HUB_WIFI_PASSWORD:-}
  HUB_CAPTIVE_PORTAL=${HUB_CAPTIVE_PORTAL:-}

  local LC_ALL=C
  if [ -z "$HUB_WIFI_SSID" ]; then
    bad "HUB_WIFI_SSID is empty: set the Wi-Fi network name, e.g. HUB_WIFI_SSID=\"Tram Phuoc Minh\""
  elif ((${#HUB_WIFI_SSID} > 32)); then
    bad "HUB_WIFI_SSID is ${#HUB_WIFI_SSID} bytes: a Wi-Fi name has at most 32 bytes (Vietnamese letters take 2-3 each)"
  fi
  if [[ ! $HUB_WIFI_PASSWORD =~ ^[\ -~]{8,63}$ ]]; then
    bad "HUB_WIFI_PASSWORD must be 8 to 63 characters, letters, digits and ASCII symbols only (WPA2); no accents"
  fi
  case ${HUB_WIFI_SECURITY:-WPA} in
    WPA | wpa) ;;
    *) bad "HUB_WIFI_SECURITY=$HUB_WIFI_SECURITY: the access point is WPA2 only; set HUB_WIFI_SECURITY=WPA or leave it out" ;;
  esac
  if [[ ! $AP_INTERFACE =~ ^[A-Za-z0-9_.-]{1,15}$ ]]; then
    bad "AP_INTERFACE=$AP_INTERFACE is not an interface name (wlan0 for the built-in radio, wlan1 for a USB adapter)"
  fi
  AP_COUNTRY=${AP_COUNTRY^^}
  if [[ ! $AP_COUNTRY =~ ^[A-Z]{2}$ ]]; then
    bad "AP_COUNTRY=$AP_COUNTRY: give the two-letter country code, e.g. AP_COUNTRY=VN"
  fi
  case $AP_CHANNEL in
    [1-9] | 1[0-3]) HW_MODE=g ;;
    36 | 40 | 44 | 48) HW_MODE=a ;;
    *) bad "AP_CHANNEL=$AP_CHANNEL: use 1, 6 or 11 (2.4 GHz, every phone) or 36, 40, 44, 48 (5 GHz)" ;;
  esac
  if [[ ! $AP_PREFIX =~ ^[0-9]+$ ]] || ((AP_PREFIX < 16 || AP_PREFIX > 29)); then
    bad "AP_PREFIX=$AP_PREFIX: give the network size as a prefix length from 16 to 29 (24 = 254 addresses)"
    AP_PREFIX=24
  fi
  local addr first last mask net bcast
  addr=$(ip_to_int "$AP_ADDRESS") || bad "AP_ADDRESS=$AP_ADDRESS is not an IPv4 address (e.g. 10.42.0.1)"
  first=$(ip_to_int "$AP_DHCP_FIRST") || bad "AP_DHCP_FIRST=$AP_DHCP_FIRST is not an IPv4 address (e.g. 10.42.0.20)"
  last=$(ip_to_int "$AP_DHCP_LAST") || bad "AP_DHCP_LAST=$AP_DHCP_LAST is not an IPv4 address (e.g. 10.42.0.250)"
  mask=$(((0xFFFFFFFF << (32 - AP_PREFIX)) & 0xFFFFFFFF))
  AP_NETMASK=$(int_to_ip "$mask")
  if [ -n "${addr:-}" ] && [ -n "${first:-}" ] && [ -n "${last:-}" ]; then
    net=$((addr & mask))
    bcast=$((net | (~mask & 0xFFFFFFFF)))
    if ((addr == net || addr == bcast)); then
      bad "AP_ADDRESS=$AP_ADDRESS is the network or broadcast address of /$AP_PREFIX: use e.g. 10.42.0.1"
    fi
    if (((first & mask) != net || (last & mask) != net)); then
      bad "AP_DHCP_FIRST and AP_DHCP_LAST must be inside $(int_to_ip "$net")/$AP_PREFIX, the network of AP_ADDRESS"
    elif ((first > last)); then
      bad "AP_DHCP_FIRST=$AP_DHCP_FIRST comes after AP_DHCP_LAST=$AP_DHCP_LAST"
    elif ((first == net || last == bcast)); then
      bad "the DHCP range must not include the network or broadcast address"
    elif ((addr >= first && addr <= last)); then
      bad "AP_ADDRESS=$AP_ADDRESS is inside the DHCP range $AP_DHCP_FIRST-$AP_DHCP_LAST: move one of them"
    fi
    AP_DHCP_MAX=$((last - first + 1))
  fi
  if [ -z "${AP_MAX_STATIONS:-}" ]; then
    if [ "$AP_INTERFACE" = wlan0 ]; then AP_MAX_STATIONS=10; else AP_MAX_STATIONS=40; fi
  elif [[ ! $AP_MAX_STATIONS =~ ^[0-9]+$ ]] || ((AP_MAX_STATIONS < 1 || AP_MAX_STATIONS > 200)); then
    bad "AP_MAX_STATIONS=$AP_MAX_STATIONS: give the most phones at once, 1 to 200"
  fi
  if [ -z "$HUB_CAPTIVE_PORTAL" ]; then
    echo "ap.sh: warning: HUB_CAPTIVE_PORTAL is empty: phones will say the Wi-Fi has no internet and may leave it; set HUB_CAPTIVE_PORTAL=http://$AP_ADDRESS/" >&2
  fi
  if ((${#ERRORS[@]})); then
    echo "ap.sh: $ENV_FILE has ${#ERRORS[@]} problem(s) with the access point settings:" >&2
    printf '  - %s\n' "${ERRORS[@]}" >&2
    exit 3
  fi
  SSID_HEX=$(printf '%s' "$HUB_WIFI_SSID" | od -An -v -tx1 | tr -d ' \n')
  PORTAL_API="${HUB_CAPTIVE_PORTAL%/}/captive-portal/api"
}

# Renders TEMPLATE into FILE (mode 0600: the hostapd file holds the passphrase).
render_one() {
  local template=$1 out=$2 text key
  text=$(<"$template")
  for key in AP_INTERFACE AP_ADDRESS AP_NETMASK AP_DHCP_FIRST AP_DHCP_LAST AP_DHCP_MAX AP_COUNTRY \
    AP_CHANNEL HW_MODE AP_MAX_STATIONS SSID_HEX HUB_WIFI_PASSWORD PORTAL_API; do
    text=${text//@"$key"@/"${!key}"}
  done
  if [[ $text =~ @[A-Z_]+@ ]]; then
    fail "template $template has an unknown placeholder ${BASH_REMATCH[0]}"
  fi
  (umask 077 && printf '%s\n' "$text" >"$out.tmp" && mv -f "$out.tmp" "$out")
}

render() {
  local dir=$1
  mkdir -p "$dir"
  render_one "$HERE/hostapd.conf.in" "$dir/hostapd.conf"
  render_one "$HERE/dnsmasq.conf.in" "$dir/dnsmasq.conf"
  render_one "$HERE/NetworkManager-unmanaged.conf.in" "$dir/NetworkManager-unmanaged.conf"
  chmod 0644 "$dir/NetworkManager-unmanaged.conf"
}

need_root() {
  [ "$(id -u)" -eq 0 ] || fail "'$1' changes the network interface: run it as root (sudo)"
}

need_interface() {
  if ! ip link show dev "$AP_INTERFACE" >/dev/null 2>&1; then
    echo "ap.sh: there is no network interface $AP_INTERFACE. Built-in radio: AP_INTERFACE=wlan0; USB Wi-Fi adapter: plug it in, see its name with 'ip link' (usually wlan1) and set AP_INTERFACE in $ENV_FILE" >&2
    exit 4
  fi
}

up() {
  need_root up
  need_interface
  mkdir -p "$RUN_DIR"
  chmod 0700 "$RUN_DIR"
  render "$RUN_DIR"
  # The Pi's radio stays soft-blocked until a country is set; the country is in hostapd.conf.
  if command -v rfkill >/dev/null 2>&1; then
    rfkill unblock wlan || echo "ap.sh: warning: rfkill unblock wlan failed" >&2
  fi
  # NetworkManager must not manage the interface (the drop-in does it at boot; this, at once).
  if command -v nmcli >/dev/null 2>&1 && nmcli -t -f RUNNING general 2>/dev/null | grep -q running; then
    nmcli device set "$AP_INTERFACE" managed no || echo "ap.sh: warning: NetworkManager still manages $AP_INTERFACE" >&2
  fi
  ip addr replace "$AP_ADDRESS/$AP_PREFIX" dev "$AP_INTERFACE" || fail "cannot give $AP_INTERFACE the address $AP_ADDRESS/$AP_PREFIX"
  ip link set dev "$AP_INTERFACE" up || fail "cannot bring $AP_INTERFACE up"
  echo "ap.sh: $AP_INTERFACE is $AP_ADDRESS/$AP_PREFIX; configurations in $RUN_DIR"
}

down() {
  need_root down
  if ip link show dev "$AP_INTERFACE" >/dev/null 2>&1; then
    ip addr del "$AP_ADDRESS/$AP_PREFIX" dev "$AP_INTERFACE" 2>/dev/null || true
    ip link set dev "$AP_INTERFACE" down || true
  fi
  rm -f "$RUN_DIR/hostapd.conf" "$RUN_DIR/dnsmasq.conf" "$RUN_DIR/NetworkManager-unmanaged.conf"
  echo "ap.sh: access point interface $AP_INTERFACE is down"
}

while [ $# -gt 0 ]; do
  case $1 in
    --env)
      [ $# -ge 2 ] || usage
      ENV_FILE=$2
      shift 2
      ;;
    -h | --help) usage ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
  check)
    [ $# -eq 0 ] || usage
    load_settings
    echo "ap.sh: the access point settings in $ENV_FILE are valid (SSID ${#HUB_WIFI_SSID} bytes, $AP_INTERFACE, channel $AP_CHANNEL, $AP_ADDRESS/$AP_PREFIX)"
    ;;
  render)
    [ $# -eq 1 ] || usage
    load_settings
    render "$1"
    ;;
  up)
    [ $# -eq 0 ] || usage
    load_settings
    up
    ;;
  down)
    [ $# -eq 0 ] || usage
    load_settings
    down
    ;;
  *) usage ;;
esac
