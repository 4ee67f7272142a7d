#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine with the Rust toolchain: installs what it needs
# (Debian's Chromium, the browser test's npm packages), then formatting and lint checks, the Rust tests
# (unit, property and integration tests that spawn real hubs), and the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

T0=$(date +%s)
# step TITLE: prints the title with the minutes and seconds since the start (where CI time goes).
step() { local t=$(($(date +%s) - T0)); printf '\n==> [%d:%02d] %s\n' $((t / 60)) $((t % 60)) "$*"; }

step "Checking ../shared (test data)"
if [ ! -d ../shared/data ]; then
  echo "warning: ../shared/data is missing; tests that use the sample photos will fail" >&2
fi

step "Installing system packages if missing (chromium; tesseract with Vietnamese data and imagemagick for the photo legibility check)"
NEED=()
command -v chromium >/dev/null 2>&1 || NEED+=(chromium)
command -v tesseract >/dev/null 2>&1 || NEED+=(tesseract-ocr)
[ -e /usr/share/tesseract-ocr/5/tessdata/vie.traineddata ] || [ -e /usr/share/tesseract-ocr/4.00/tessdata/vie.traineddata ] || NEED+=(tesseract-ocr-vie)
command -v convert >/dev/null 2>&1 || NEED+=(imagemagick)
if [ ${#NEED[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${NEED[@]}" >/dev/null
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

# One build for everything below: every binary and test of the workspace in one cargo invocation, so the
# dependencies are resolved with one feature set and compiled once (a separate `cargo build -p hub` resolves
# without the tests' dev-dependencies and compiled reqwest, zip and the whole hub a second time). The
# scripts below are told not to build again (--no-build).
step "cargo build --workspace --all-targets (the hub, the load tools, every test binary)"
cargo build --workspace --all-targets

step "cargo test (unit, property, integration: tests/it is one binary)"
cargo test --workspace --no-fail-fast 2>&1 | tee target/cargo-test.log

step "Office scale smoke (2 devices × 50 real dossiers: generate, import, serve, measure)"
bash tests/scale/smoke.sh --no-build

step "Browser tests (Debian Chromium, headless)"
HUB_BIN="$PWD/target/debug/hub" bash tests/browser/run.sh

# Deployment kit checks (issue 7): each part adds its step here.
# <deploy-steps>
step "Deployment kit: shellcheck, systemd-analyze, install twice, the hub under the unit's restrictions, aarch64 under qemu (deploy/check.sh)"
bash deploy/check.sh

step "Load and footprint, quick (10 phones × 10 s, 1,000-dossier batch; figures never fail it, errors do): tests/perf/run.sh --quick --debug"
bash tests/perf/run.sh --quick --debug --no-build

step "All tests passed"
