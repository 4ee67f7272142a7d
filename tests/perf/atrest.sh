#!/usr/bin/env bash
# What encryption at rest costs (issue 19): hub/examples/atrest_cost.rs, built with the `dist` profile (as
# deploy/build.sh ships the hub), run on x86_64 natively and on aarch64 under qemu-aarch64-static, plain
# SQLite against SQLCipher on the same schema and settings (capture of a 300 KB photo, the seal
# transaction, opening the database, the argon2id unlock, a sealed secret file). Prints each run's table
# and a summary of the medians and the ratios encrypted/plain. Not part of tests/run-all.sh (two fat-LTO
# builds: 20-40 min on the shared 2-core machine); the figures are in docs/operations.md.
#
#   tests/perf/atrest.sh [--runs N] [--photo-kb N] [--no-aarch64] [--no-native] [--no-build]
#
# --runs N      runs per operation (default 50; ATREST_ARGON_RUNS sets the argon2id ones separately)
# --photo-kb N  KiB of the photo stored and sealed (default 300: a 3-in-1 dossier's three photos; one stored
#               photo is at most 100 KiB)
# --no-aarch64  x86_64 only;  --no-native  aarch64 only;  --no-build  use the binaries already built
#
# aarch64 runs twice: with the crypto extensions qemu emulates (AES, SHA, as a Pi 5's Cortex-A76 has), and
# with OPENSSL_armcap=1 (NEON only: OpenSSL's vector-permutation AES and plain SHA-512, as on a Pi 3 or 4,
# whose Cortex-A53/A72 cores come without the crypto extensions). qemu timings are emulation, not a Pi:
# quote the ratios, not the milliseconds.
#
# The data directories go under ATREST_DIR (default target/atrest, on the disk the build uses: a tmpfs
# would make fsync free). Needs (apt-installed when missing): libssl-dev and pkg-config (native build),
# qemu-user-static, gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, perl and make (the aarch64 build with
# OpenSSL from source: the hub's `vendored-openssl` feature), and rustup's aarch64-unknown-linux-gnu target.
#
# Exit codes: 0 measured; 1 a build or a run failed; 2 bad arguments; 3 a tool is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD

RUNS=50
PHOTO_KB=300
NATIVE=1
AARCH64=1
BUILD=1
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
    --photo-kb) PHOTO_KB=${2:?--photo-kb needs a number}; shift 2 ;;
    --no-aarch64) AARCH64=0; shift ;;
    --no-native) NATIVE=0; shift ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $RUNS$PHOTO_KB in '' | *[!0-9]*) echo "error: --runs and --photo-kb need a number" >&2; exit 2 ;; esac

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
NEED=()
if [ "$NATIVE" = 1 ]; then
  [ -e /usr/include/openssl/evp.h ] || NEED+=(libssl-dev)
  command -v pkg-config >/dev/null 2>&1 || NEED+=(pkg-config)
fi
if [ "$AARCH64" = 1 ]; then
  command -v qemu-aarch64-static >/dev/null 2>&1 || NEED+=(qemu-user-static)
  command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || NEED+=(gcc-aarch64-linux-gnu)
  [ -d /usr/aarch64-linux-gnu/lib ] || NEED+=(libc6-dev-arm64-cross)
  command -v perl >/dev/null 2>&1 || NEED+=(perl)
  command -v make >/dev/null 2>&1 || NEED+=(make)
fi
if [ ${#NEED[@]} -gt 0 ]; then
  echo "==> installing ${NEED[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${NEED[@]}" >/dev/null ||
    { echo "error: cannot install ${NEED[*]}" >&2; exit 3; }
fi
if [ "$AARCH64" = 1 ] && command -v rustup >/dev/null 2>&1 &&
  ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi

TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
NATIVE_BIN=$TARGET_DIR/dist/examples/atrest_cost
ARM_BIN=$TARGET_DIR/aarch64-unknown-linux-gnu/dist/examples/atrest_cost
if [ "$BUILD" = 1 ]; then
  if [ "$NATIVE" = 1 ]; then
    echo "==> building atrest_cost for x86_64 (profile dist, system libcrypto)"
    t0=$(date +%s)
    nice -n 19 cargo build --profile dist -p hub --example atrest_cost
    echo "    $(($(date +%s) - t0)) s"
  fi
  if [ "$AARCH64" = 1 ]; then
    echo "==> building atrest_cost for aarch64 (profile dist, vendored OpenSSL)"
    t0=$(date +%s)
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
      CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
      nice -n 19 cargo build --profile dist --target aarch64-unknown-linux-gnu -p hub \
      --features vendored-openssl --example atrest_cost
    echo "    $(($(date +%s) - t0)) s"
  fi
fi

export ATREST_DIR=${ATREST_DIR:-$TARGET_DIR/atrest}
mkdir -p "$ATREST_DIR"
export ATREST_RUNS=$RUNS ATREST_PHOTO_KB=$PHOTO_KB
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

run() { # LABEL CMD...: runs one measurement, keeps its ATREST lines under LABEL
  local label=$1
  shift
  echo
  echo "==> $label"
  "$@" | tee "$OUT/run.log"
  grep '^ATREST' "$OUT/run.log" | sed "s|^ATREST|$label|" >>"$OUT/all.tsv"
}

if [ "$NATIVE" = 1 ]; then
  [ -x "$NATIVE_BIN" ] || { echo "error: $NATIVE_BIN is missing (run without --no-build)" >&2; exit 1; }
  run "x86_64 native" "$NATIVE_BIN"
fi
if [ "$AARCH64" = 1 ]; then
  [ -x "$ARM_BIN" ] || { echo "error: $ARM_BIN is missing (run without --no-build)" >&2; exit 1; }
  QEMU=(qemu-aarch64-static -L /usr/aarch64-linux-gnu)
  run "aarch64 qemu, crypto ext." "${QEMU[@]}" "$ARM_BIN"
  run "aarch64 qemu, NEON only" env OPENSSL_armcap=1 "${QEMU[@]}" "$ARM_BIN"
fi

echo
echo "==> summary: median ms plain → encrypted (ratio); ${RUNS} runs each, photo ${PHOTO_KB} KiB"
echo "    (aarch64 under qemu-aarch64-static is emulation, not a Pi: compare the ratios)"
awk -F'\t' '
  { key = $3; if (!(key in seen)) { seen[key] = 1; order[++n] = key }
    if (!($1 in lseen)) { lseen[$1] = 1; labels[++m] = $1 }
    cell[$1, key] = sprintf("%.2f → %.2f (%.2fx)", $4, $5, $6) }
  END {
    printf "%-6s", "op"; for (j = 1; j <= m; j++) printf " | %-30s", labels[j]; printf "\n"
    for (i = 1; i <= n; i++) {
      printf "%-6s", order[i]
      for (j = 1; j <= m; j++) printf " | %-30s", cell[labels[j], order[i]]
      printf "\n"
    }
  }' "$OUT/all.tsv"
