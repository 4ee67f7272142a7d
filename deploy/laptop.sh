#!/usr/bin/env bash
# Runs the hub on a laptop in the foreground, without installing anything: for an officer who brings a
# laptop and a phone hotspot (or uses the office LAN). Data stays in ~/outreach-hub-data between runs.
# The hub prints its address and a QR code to scan with a phone; Ctrl+C stops it.
#
#   ./laptop.sh                        field hub on port 8080
#   ./laptop.sh --name "Trạm Phước Minh" --wifi-ssid HOTSPOT --wifi-password PASS
#                                      any `hub serve` option is passed on (see: bin/hub serve --help)
#
# Environment: HUB_BIN (default: bin/hub next to this script, else `hub` on the PATH, else
# target/release/hub in a source checkout), HUB_DATA (default ~/outreach-hub-data), HUB_LISTEN
# (default 0.0.0.0:8080), HUB_MODE (default field).
#
# Exit codes: the hub's (0 stopped normally, 1 an error it printed); 3 no hub binary found.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=${HUB_BIN:-}
if [ -z "$bin" ]; then
  for c in "$here/bin/hub" "$(command -v hub 2>/dev/null || true)" "$here/../target/release/hub"; do
    if [ -n "$c" ] && [ -x "$c" ]; then bin=$c; break; fi
  done
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "error: no hub binary found: run this script from the release tarball (bin/hub), or set HUB_BIN=/path/to/hub" >&2
  exit 3
fi

export HUB_DATA=${HUB_DATA:-$HOME/outreach-hub-data}
export HUB_LISTEN=${HUB_LISTEN:-0.0.0.0:8080}
export HUB_MODE=${HUB_MODE:-field}
mkdir -p "$HUB_DATA"
chmod 0700 "$HUB_DATA"

cat <<EOF
Outreach hub (laptop): data in $HUB_DATA, listening on $HUB_LISTEN.
Phones must be on the same network as this laptop (its hotspot or Wi-Fi). If a phone cannot open the
address below, allow port ${HUB_LISTEN##*:} in the laptop's firewall. Stop with Ctrl+C.
EOF
# A USB receipt printer (/dev/usb/lp*, root:lp 0660 on Debian) is written by the user running this script.
for lp in /dev/usb/lp*; do
  if [ -e "$lp" ] && [ ! -w "$lp" ]; then
    echo "note: the USB printer $lp is not writable by $(id -un). Run: sudo usermod -aG lp $(id -un), then log out and in again (see docs/field-guide.md, \"Receipts on a thermal printer\")." >&2
  fi
done
# Two glibc arenas and large buffers returned at once: 77 MiB peak under 50 phones instead of 501 MiB
# (docs/operations.md, "Load and footprint"); the systemd unit sets the same.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"
exec "$bin" serve "$@"
