#!/usr/bin/env bash
# Builds the outreach hub for the kits and packs one release per architecture into dist/:
#   dist/outreach-hub-<version>-<arch>.tar.gz   bin/hub, install.sh, hubctl, hub.env.example, laptop.sh,
#                                              lib/, systemd/, sysusers.d/, ap/, usb/, udev/, FIELD-CHECKLIST.md,
#                                              README.txt
#   dist/outreach-hub_<version>_<debarch>.deb   the same kit in /usr/lib/outreach-hub/kit; its postinst runs
#                                              install.sh (kit from OUTREACH_HUB_KIT, default laptop, or the
#                                              kit already installed)
#
#   deploy/build.sh [--target aarch64|x86_64|both] [--profile NAME] [--no-deb]
#
#   --target   aarch64 (Raspberry Pi, 64-bit OS), x86_64 (laptops), both (default)
#   --profile  cargo profile (default dist: size-tuned, see Cargo.toml)
#   --no-deb   tarballs only
#
# Cross-building for aarch64 needs rustup's aarch64-unknown-linux-gnu target and Debian's
# gcc-aarch64-linux-gnu (the linker; also builds the bundled SQLCipher and OpenSSL):
#   rustup target add aarch64-unknown-linux-gnu && sudo apt-get install gcc-aarch64-linux-gnu
# The kits' binaries carry their own libcrypto (the hub's `vendored-openssl` feature: OpenSSL built from
# source and linked statically into SQLCipher, which encrypts the database at rest), so they run whatever
# libssl the Pi or laptop has, or none; building it needs perl and make. A plain `cargo build` links the
# system's libcrypto instead (libssl-dev and pkg-config).
# SOURCE_DATE_EPOCH (default: the last commit's time) sets the file times in the archives.
#
# Exit codes: 0 built; 1 a build step failed; 2 wrong usage; 3 a tool is missing (the message says which).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TARGETS=both
PROFILE=dist
DEB=1
while [ $# -gt 0 ]; do
  case $1 in
    --target) TARGETS=${2:?--target needs aarch64, x86_64 or both}; shift 2 ;;
    --target=*) TARGETS=${1#*=}; shift ;;
    --profile) PROFILE=${2:?--profile needs a name}; shift 2 ;;
    --profile=*) PROFILE=${1#*=}; shift ;;
    --no-deb) DEB=0; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $TARGETS in
  both) ARCHES=(aarch64 x86_64) ;;
  aarch64 | x86_64) ARCHES=("$TARGETS") ;;
  *) echo "error: --target must be aarch64, x86_64 or both" >&2; exit 2 ;;
esac

need() { command -v "$1" >/dev/null 2>&1 || { echo "error: '$1' is missing: $2" >&2; exit 3; }; }
need cargo "install Rust (rustup)"
need perl "sudo apt-get install perl (OpenSSL's build, for SQLCipher)"
need make "sudo apt-get install make (OpenSSL's build, for SQLCipher)"
VERSION=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
[ -n "$VERSION" ] || { echo "error: no version in Cargo.toml [workspace.package]" >&2; exit 1; }
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
mkdir -p dist

for arch in "${ARCHES[@]}"; do
  triple=$arch-unknown-linux-gnu
  strip_tool="strip"
  deb_arch=amd64
  if [ "$arch" = aarch64 ]; then
    need aarch64-linux-gnu-gcc "sudo apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
    if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$triple"; then
      echo "error: the Rust target $triple is missing: rustup target add $triple" >&2
      exit 3
    fi
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
    export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
    strip_tool=aarch64-linux-gnu-strip
    deb_arch=arm64
  fi
  echo "==> building hub $VERSION for $triple (profile $PROFILE)"
  start=$(date +%s)
  cargo build --locked --profile "$PROFILE" --target "$triple" -p hub --features vendored-openssl
  secs=$(($(date +%s) - start))
  bin=$TARGET_DIR/$triple/$PROFILE/hub
  name=outreach-hub-$VERSION-$arch
  stage=dist/$name
  rm -rf "$stage"
  mkdir -p "$stage/bin"
  cp "$bin" "$stage/bin/hub"
  "$strip_tool" --strip-all "$stage/bin/hub"
  chmod 0755 "$stage/bin/hub"
  for f in install.sh hubctl laptop.sh hub.env.example FIELD-CHECKLIST.md; do
    if [ -f "deploy/$f" ]; then cp -p "deploy/$f" "$stage/$f"; fi
  done
  for d in lib systemd sysusers.d ap usb udev; do
    if [ -d "deploy/$d" ]; then cp -rp "deploy/$d" "$stage/$d"; fi
  done
  cat >"$stage/README.txt" <<EOF
Outreach hub $VERSION for $arch Linux ($( [ "$arch" = aarch64 ] && echo "Raspberry Pi 3B+/4/5/Zero 2 W with a 64-bit OS" || echo "laptops and PCs")).

Install as a service (Debian, Raspberry Pi OS, Ubuntu with systemd), from this folder:
  Raspberry Pi as the Wi-Fi access point:   sudo ./install.sh --kit pi-ap --install-packages
  Laptop or PC on an existing network:      sudo ./install.sh --kit laptop
Then:                                       sudo hubctl user add --role admin --name YOUR-NAME
How it is doing:                            sudo hubctl status
Settings:                                   /etc/outreach-hub/hub.env (then sudo systemctl restart outreach-hub)
Remove (keeps data and settings):           sudo ./install.sh --uninstall

Without installing (a laptop, in the foreground, data in ~/outreach-hub-data):  ./laptop.sh
The field checklist (what to bring, how to start, what to do when it does not work): FIELD-CHECKLIST.md
EOF
  find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    -C dist -cf - "$name" | gzip -9n >"dist/$name.tar.gz"
  size=$(stat -c %s "$stage/bin/hub")
  echo "    bin/hub: $size bytes ($((size / 1024 / 1024)) MiB) stripped; build ${secs}s"
  echo "    dist/$name.tar.gz: $(stat -c %s "dist/$name.tar.gz") bytes"

  if [ "$DEB" = 1 ]; then
    need dpkg-deb "sudo apt-get install dpkg"
    pkg=dist/deb-$arch
    rm -rf "$pkg"
    mkdir -p "$pkg/DEBIAN" "$pkg/usr/lib/outreach-hub"
    cp -rp "$stage" "$pkg/usr/lib/outreach-hub/kit"
    cat >"$pkg/DEBIAN/control" <<EOF
Package: outreach-hub
Version: $VERSION
Architecture: $deb_arch
Maintainer: Outreach kit <outreach-kit@localhost>
Depends: systemd
Recommends: curl
Suggests: hostapd, dnsmasq
Section: net
Priority: optional
Description: Outreach kit hub for commune outreach sessions
 One binary serving the local Wi-Fi web app of the outreach kit, installed as a
 hardened systemd service (laptop kit by default; OUTREACH_HUB_KIT=pi-ap for a
 Raspberry Pi that is its own Wi-Fi access point).
EOF
    cat >"$pkg/DEBIAN/postinst" <<'EOF'
#!/bin/sh
# Installs or updates the kit with install.sh, without questions. The kit: OUTREACH_HUB_KIT (pi-ap or
# laptop), else the one already installed (a captive portal in hub.env means pi-ap), else laptop.
set -e
if [ "$1" = configure ]; then
  kit=${OUTREACH_HUB_KIT:-}
  if [ -z "$kit" ]; then
    kit=laptop
    if grep -q '^HUB_CAPTIVE_PORTAL=.' /etc/outreach-hub/hub.env 2>/dev/null; then kit=pi-ap; fi
  fi
  if [ -d /run/systemd/system ]; then
    /usr/lib/outreach-hub/kit/install.sh --kit "$kit"
  else
    echo "outreach-hub: systemd is not running; run /usr/lib/outreach-hub/kit/install.sh --kit $kit later"
  fi
fi
exit 0
EOF
    cat >"$pkg/DEBIAN/prerm" <<'EOF'
#!/bin/sh
# Removing the package stops and removes the service; the config and all data stay.
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  /usr/lib/outreach-hub/kit/install.sh --uninstall || true
fi
exit 0
EOF
    chmod 0755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/prerm"
    find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    dpkg-deb --root-owner-group -Zxz --build "$pkg" "dist/outreach-hub_${VERSION}_$deb_arch.deb" >/dev/null
    rm -rf "$pkg"
    echo "    dist/outreach-hub_${VERSION}_$deb_arch.deb: $(stat -c %s "dist/outreach-hub_${VERSION}_$deb_arch.deb") bytes"
  fi
done
