#!/usr/bin/env bash
# Evidence for the access-point kit, without touching the machine's network: everything runs in two
# network namespaces made here ("hub" and "phone", joined by a veth pair standing in for the Wi-Fi) and is
# removed on exit.
#
#   1. ap.sh refuses invalid settings with clear messages, and renders the templates from a test hub.env
#      (Vietnamese SSID, a passphrase full of shell-special characters);
#   2. `dnsmasq --test` accepts the rendered dnsmasq.conf; hostapd parses the rendered hostapd.conf without
#      a configuration error (no radio here: it then stops at the driver; a broken line is caught);
#   3. the rendered dnsmasq (interface rewritten to the veth) and the real hub (--captive-portal, --mdns off,
#      AP_ADDRESS:80) run in the hub namespace; from the phone namespace: a real DHCP exchange
#      (deploy/ap/dhcp-probe.py), DNS for check and random names answers the hub (A) and nothing (AAAA),
#      then curl, resolving through that DNS, fetches the phones' checks by name: redirect to the portal,
#      "Open the app", then the exact online answers.
#
# Usage: deploy/ap/test-netns.sh        (root; HUB_BIN=path/to/hub, default target/debug/hub)
# Exit codes: 0 all checks passed; 1 a check failed (the summary says which); 2 missing tool or not root.
set -euo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
HUB_BIN=${HUB_BIN:-$REPO/target/debug/hub}

need() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "test-netns.sh: $1 is missing (Debian package: $2)" >&2
    exit 2
  }
}
[ "$(id -u)" -eq 0 ] || {
  echo "test-netns.sh: run as root (it creates network namespaces)" >&2
  exit 2
}
need ip iproute2
need dnsmasq dnsmasq-base
need hostapd hostapd
need dig dnsutils
need curl curl
need python3 python3
need unshare util-linux
[ -x "$HUB_BIN" ] || {
  echo "test-netns.sh: no hub binary at $HUB_BIN: run 'cargo build -p hub' or set HUB_BIN" >&2
  exit 2
}

TAG=oh$$
NS_HUB=$TAG-hub
NS_PHONE=$TAG-phone
VETH_HUB=$TAG-h
VETH_PHONE=$TAG-p
TMP=$(mktemp -d)
PIDS=()
PASS=0
FAILED=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  ip netns del "$NS_HUB" 2>/dev/null || true
  ip netns del "$NS_PHONE" 2>/dev/null || true
  ip netns del "$TAG-up" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

ok() {
  PASS=$((PASS + 1))
  echo "  ok   $*"
}
ko() {
  FAILED+=("$*")
  echo "  FAIL $*"
}
check() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else ko "$what"; fi
}

AP=10.42.0.1
SSID="Trạm Phước Minh"
# Shell-special characters the passphrase must survive: $ ` & \ " ' # ; and a space.
# shellcheck disable=SC2016 # literal on purpose
PASSPHRASE='p@ss w$rd`&\"x'"'"'1#;'

write_env() {
  local esc=${PASSPHRASE//\\/\\\\}
  esc=${esc//\"/\\\"}
  cat >"$1" <<EOF
# test hub.env
HUB_MODE=field
HUB_WIFI_SSID="$SSID"
HUB_WIFI_PASSWORD="$esc"
HUB_CAPTIVE_PORTAL=http://$AP/
AP_INTERFACE=wlan1
AP_ADDRESS=$AP
AP_PREFIX=24
AP_DHCP_FIRST=10.42.0.20
AP_DHCP_LAST=10.42.0.250
AP_COUNTRY=vn
AP_CHANNEL=6
EOF
}

echo "== 1. settings and rendering"
write_env "$TMP/hub.env"

bad_setting() {
  local line=$1 expect=$2 out
  grep -v "^${line%%=*}=" "$TMP/hub.env" >"$TMP/bad.env"
  echo "$line" >>"$TMP/bad.env"
  set +e
  out=$("$HERE/ap.sh" --env "$TMP/bad.env" check 2>&1)
  local rc=$?
  set -e
  [ "$rc" -eq 3 ] && grep -q -- "$expect" <<<"$out"
}
check "an SSID over 32 bytes (36, Vietnamese) is refused" bad_setting "HUB_WIFI_SSID=Trạm Phước Minh xã Phước Mi" "at most 32 bytes"
check "a 7-character passphrase is refused" bad_setting "HUB_WIFI_PASSWORD=1234567" "8 to 63 characters"
check "a passphrase with accents is refused" bad_setting "HUB_WIFI_PASSWORD=mật khẩu dài" "no accents"
check "channel 14 is refused" bad_setting "AP_CHANNEL=14" "use 1, 6 or 11"
check "a country name is refused" bad_setting "AP_COUNTRY=Vietnam" "two-letter country code"
check "a DHCP range outside the network is refused" bad_setting "AP_DHCP_LAST=10.43.0.250" "must be inside 10.42.0.0/24"
check "the hub's address inside the DHCP range is refused" bad_setting "AP_ADDRESS=10.42.0.30" "inside the DHCP range"
check "a malformed address is refused" bad_setting "AP_ADDRESS=10.42.0.300" "not an IPv4 address"
check "the test settings are valid" "$HERE/ap.sh" --env "$TMP/hub.env" check
"$HERE/ap.sh" --env "$TMP/hub.env" render "$TMP/out" 2>/dev/null
H=$TMP/out/hostapd.conf
D=$TMP/out/dnsmasq.conf
ssid_hex=$(printf '%s' "$SSID" | od -An -v -tx1 | tr -d ' \n')
check "hostapd.conf has the SSID (hex of the UTF-8 bytes)" grep -qx "ssid2=$ssid_hex" "$H"
check "hostapd.conf has the passphrase exactly as written in hub.env" grep -qxF "wpa_passphrase=$PASSPHRASE" "$H"
check "hostapd.conf: WPA2-PSK, CCMP only, country VN with 802.11d, channel 6 (2.4 GHz), wlan1" \
  bash -c "grep -qx wpa=2 '$H' && grep -qx wpa_key_mgmt=WPA-PSK '$H' && grep -qx rsn_pairwise=CCMP '$H' \
    && grep -qx country_code=VN '$H' && grep -qx ieee80211d=1 '$H' && grep -qx hw_mode=g '$H' \
    && grep -qx channel=6 '$H' && grep -qx interface=wlan1 '$H' && grep -qx max_num_sta=40 '$H'"
check "rendered files are private (0600) and complete" \
  bash -c "[ \"\$(stat -c %a '$H')\" = 600 ] && ! grep -q '@[A-Z_]*@' '$H' '$D'"
check "the NetworkManager drop-in names the AP interface" \
  grep -qx "unmanaged-devices=interface-name:wlan1" "$TMP/out/NetworkManager-unmanaged.conf"

echo "== 2. configuration checks"
check "dnsmasq --test accepts dnsmasq.conf" bash -c "dnsmasq --test --conf-file='$D' 2>&1 | grep -q 'syntax check OK'"
ip netns add "$NS_HUB"
hostapd_parse() {
  # In the empty hub namespace there is no radio: hostapd reads the whole file, then fails at the driver.
  local out
  out=$(ip netns exec "$NS_HUB" timeout 10 hostapd -dd "$1" 2>&1 || true)
  echo "$out" >"$TMP/hostapd.log"
  ! grep -q "errors found in configuration file\|^Line [0-9]" <<<"$out" && grep -q "nl80211" <<<"$out"
}
check "hostapd parses hostapd.conf without an error (stops at the missing radio)" hostapd_parse "$H"
sed 's/^rsn_pairwise=CCMP/rsn_pairwise=BOGUS/' "$H" >"$TMP/broken-hostapd.conf"
hostapd_rejects() {
  local out
  out=$(ip netns exec "$NS_HUB" timeout 10 hostapd -dd "$1" 2>&1 || true)
  grep -q "errors found in configuration file" <<<"$out"
}
check "hostapd's parse catches a broken line (the check can fail)" hostapd_rejects "$TMP/broken-hostapd.conf"
if [ -d /sys/module/mac80211_hwsim ] || { command -v modprobe >/dev/null 2>&1 && modprobe mac80211_hwsim radios=2 2>/dev/null; }; then
  echo "  note mac80211_hwsim is available but this script does not use it yet"
else
  echo "  note no mac80211_hwsim here (no modprobe or no kernel modules): hostapd is not run on a simulated radio"
fi

# ap.sh up/down on a stand-in interface (a veth named wlan1) in its own namespace, with a private /run.
NS_UP=$TAG-up
ip netns add "$NS_UP"
ip -n "$NS_UP" link add wlan1 type veth peer name wlan1-peer
ap_in_ns() {
  # shellcheck disable=SC2016 # expanded by the inner sh
  ip netns exec "$NS_UP" unshare -m sh -c 'mount -t tmpfs tmpfs /run && "$0" --env "$1" "$2" && ls -l /run/outreach-hub-ap' \
    "$HERE/ap.sh" "$TMP/hub.env" "$@"
}
ap_up() {
  local out
  out=$(ap_in_ns up 2>&1) || { echo "$out"; return 1; }
  grep -q "hostapd.conf" <<<"$out" && ip -n "$NS_UP" -4 addr show dev wlan1 | grep -q "inet $AP/24" \
    && ip -n "$NS_UP" link show dev wlan1 | grep -q "UP"
}
check "ap.sh up renders into /run/outreach-hub-ap and gives wlan1 $AP/24, up" ap_up
ap_down() {
  ap_in_ns down >/dev/null 2>&1 || true
  ! ip -n "$NS_UP" -4 addr show dev wlan1 | grep -q "inet " && ! ip -n "$NS_UP" link show dev wlan1 | grep -q ",UP"
}
check "ap.sh down removes the address and takes wlan1 down" ap_down
ap_missing() {
  local out rc=0
  # shellcheck disable=SC2016 # expanded by the inner sh
  out=$(ip netns exec "$NS_UP" unshare -m sh -c 'mount -t tmpfs tmpfs /run && "$0" --env "$1" up' \
    "$HERE/ap.sh" "$TMP/bad.env" 2>&1) || rc=$?
  [ "$rc" -eq 4 ] && grep -q "there is no network interface wlan9" <<<"$out"
}
grep -v '^AP_INTERFACE=' "$TMP/hub.env" >"$TMP/bad.env"
echo "AP_INTERFACE=wlan9" >>"$TMP/bad.env"
check "ap.sh up says when the interface (USB adapter) is missing (exit 4)" ap_missing
ip netns del "$NS_UP"

echo "== 3. network namespaces: DHCP, DNS, captive portal"
ip netns add "$NS_PHONE"
ip link add "$VETH_HUB" type veth peer name "$VETH_PHONE"
ip link set "$VETH_HUB" netns "$NS_HUB"
ip link set "$VETH_PHONE" netns "$NS_PHONE"
ip -n "$NS_HUB" link set lo up
ip -n "$NS_PHONE" link set lo up
ip -n "$NS_HUB" addr add "$AP/24" dev "$VETH_HUB"
ip -n "$NS_HUB" link set "$VETH_HUB" up
ip -n "$NS_PHONE" link set "$VETH_PHONE" up

mkdir -p "$TMP/run"
sed -e "s|^interface=.*|interface=$VETH_HUB|" -e "s|^dhcp-leasefile=.*|dhcp-leasefile=$TMP/run/dnsmasq.leases|" \
  "$D" >"$TMP/run/dnsmasq.conf"
ip netns exec "$NS_HUB" dnsmasq --keep-in-foreground --conf-file="$TMP/run/dnsmasq.conf" --pid-file= \
  --user=root 2>"$TMP/dnsmasq.log" &
PIDS+=($!)
ip netns exec "$NS_HUB" "$HUB_BIN" serve --mode field --data "$TMP/hub-data" --listen "$AP:80" \
  --https-listen off --mdns off --captive-portal "http://$AP/" --host-name tram-test \
  --wifi-ssid "$SSID" --wifi-password "$PASSPHRASE" >"$TMP/hub.log" 2>&1 &
PIDS+=($!)

lease=$(ip netns exec "$NS_PHONE" python3 "$HERE/dhcp-probe.py" "$VETH_PHONE") || true
while IFS= read -r l; do echo "       $l"; done <<<"$lease"
addr=$(sed -n 's/^ADDRESS=//p' <<<"$lease")
mac=$(sed -n 's/^MAC=//p' <<<"$lease")
check "DHCP gives an address in 10.42.0.20-250" bash -c "[[ '$addr' =~ ^10\.42\.0\.([0-9]+)$ ]] && (( \${BASH_REMATCH[1]} >= 20 && \${BASH_REMATCH[1]} <= 250 ))"
check "DHCP names the hub as router and DNS server, /24, 12 h lease" \
  bash -c "grep -qx ROUTER=$AP <<<'$lease' && grep -qx DNS=$AP <<<'$lease' && grep -qx NETMASK=255.255.255.0 <<<'$lease' && grep -qx LEASE_SECONDS=43200 <<<'$lease'"
check "the lease is in dnsmasq's lease file" bash -c "sleep 0.3; grep -q ' ${mac:-none} ${addr:-none} ' '$TMP/run/dnsmasq.leases'"
if [ -n "$addr" ]; then
  ip -n "$NS_PHONE" addr add "$addr/24" dev "$VETH_PHONE"
  ip -n "$NS_PHONE" route add default via "$AP"
fi

dns_a() { [ "$(ip netns exec "$NS_PHONE" dig +short +time=2 +tries=1 @"$AP" "$1" A)" = "$AP" ]; }
for name in connectivitycheck.gstatic.com captive.apple.com www.msftconnecttest.com example.com "random-$RANDOM.vn"; do
  check "DNS: $name → $AP" dns_a "$name"
done
dns_empty() {
  local out
  out=$(ip netns exec "$NS_PHONE" dig +time=2 +tries=1 @"$AP" "$1" "$2")
  if grep -q "status: NOERROR" <<<"$out" && grep -q "ANSWER: 0," <<<"$out"; then
    return 0
  fi
  echo "$out" | sed -n '/HEADER/,/^$/p;/ANSWER SECTION/,/^$/p'
  return 1
}
check "DNS: AAAA for example.com is an immediate empty answer (no IPv6 wait)" dns_empty example.com AAAA
check "DNS: the HTTPS record iOS asks for is an empty answer too" dns_empty captive.apple.com TYPE65
check "DNS is not served on loopback (only on the AP interface)" \
  bash -c "! ip netns exec '$NS_HUB' dig +short +time=1 +tries=1 @127.0.0.1 example.com A | grep -qx '$AP'"

# The phone's resolver is the AP's DNS, through a private mount namespace (the machine's /etc is untouched).
echo "nameserver $AP" >"$TMP/resolv.conf"
phone_curl() {
  # shellcheck disable=SC2016 # expanded by the inner sh
  ip netns exec "$NS_PHONE" unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec curl -sS -m 5 "$@"' \
    "$TMP/resolv.conf" "$@"
}
for _ in $(seq 1 300); do
  phone_curl -o /dev/null "http://$AP/healthz" 2>/dev/null && break
  sleep 0.1
done
status_loc() { phone_curl -o /dev/null -w '%{http_code} %{redirect_url}' "$@"; }
expect() {
  local want=$1 got
  shift
  got=$(status_loc "$@" 2>&1 || true)
  [ "$got" = "$want" ] || {
    echo "       got '$got' want '$want'"
    return 1
  }
}
body_is() {
  local want=$1 got
  shift
  got=$(phone_curl "$@"; echo x)
  [ "${got%x}" = "$want" ] || {
    echo "       got '${got%x}'"
    return 1
  }
}
PORTAL=http://$AP/captive-portal
check "hub answers on $AP:80 from the phone" expect "200 " "http://$AP/healthz"
check "Android check, not welcomed → portal" expect "302 $PORTAL" http://connectivitycheck.gstatic.com/generate_204
check "Apple check, not welcomed → portal" expect "302 $PORTAL" http://captive.apple.com/hotspot-detect.html
check "Windows check, not welcomed → portal" expect "302 $PORTAL" http://www.msftconnecttest.com/connecttest.txt
check "Firefox check, not welcomed → portal" expect "302 $PORTAL" http://detectportal.firefox.com/success.txt
check "any other name → portal" expect "302 $PORTAL" http://example.com/
page_has() { phone_curl "$1" | grep -q "$2"; }
check "the portal page (Vietnamese first, one button)" page_has "http://$AP/captive-portal" "Mở ứng dụng"
check "\"Open the app\" → 303 to the app" expect "303 http://$AP/" -X POST "http://captive.apple.com/captive-portal/welcome"
check "Android check, welcomed → 204" expect "204 " http://connectivitycheck.gstatic.com/generate_204
check "Apple check, welcomed → Success page" body_is "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>" http://captive.apple.com/hotspot-detect.html
check "Windows check, welcomed → Microsoft Connect Test" body_is "Microsoft Connect Test" http://www.msftconnecttest.com/connecttest.txt
check "Firefox check, welcomed → success" body_is $'success\n' http://detectportal.firefox.com/success.txt
check "NetworkManager check, welcomed → online" body_is $'NetworkManager is online\n' http://nmcheck.gnome.org/check_network_status.txt
check "any other name, welcomed → the app" expect "302 http://$AP/" http://example.com/
check "the app on the hub's address" expect "200 " "http://$AP/"

echo
echo "== summary: $PASS passed, ${#FAILED[@]} failed"
if ((${#FAILED[@]})); then
  printf '   failed: %s\n' "${FAILED[@]}"
  echo "   logs: hub and dnsmasq output follow"
  tail -n 20 "$TMP/hub.log" "$TMP/dnsmasq.log" "$TMP/hostapd.log" 2>/dev/null || true
  exit 1
fi
