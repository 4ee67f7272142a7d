#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine with the Rust toolchain: installs what it needs
# (Debian's Chromium, the browser test's npm packages, Schemathesis in a virtualenv), then formatting and
# lint checks, the Rust tests (unit, property and integration tests that spawn real hubs), the API fuzzing
# of both hubs' OpenAPI documents, and the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

T0=$(date +%s)
# step TITLE: prints the title with the minutes and seconds since the start (where CI time goes).
step() { local t=$(($(date +%s) - T0)); printf '\n==> [%d:%02d] %s\n' $((t / 60)) $((t % 60)) "$*"; }

step "Checking ../shared (test data)"
if [ ! -d ../shared/data ]; then
  echo "warning: ../shared/data is missing; tests that use the sample photos will fail" >&2
fi

step "Installing system packages if missing (chromium; tesseract with Vietnamese data and imagemagick for the photo legibility check; poppler-utils for the print checks; zbar-tools for the thermal receipt's QR; python3 for the paper-out printer stand-in; libssl-dev and pkg-config for SQLCipher)"
NEED=()
command -v chromium >/dev/null 2>&1 || NEED+=(chromium)
command -v tesseract >/dev/null 2>&1 || NEED+=(tesseract-ocr)
[ -e /usr/share/tesseract-ocr/5/tessdata/vie.traineddata ] || [ -e /usr/share/tesseract-ocr/4.00/tessdata/vie.traineddata ] || NEED+=(tesseract-ocr-vie)
command -v convert >/dev/null 2>&1 || NEED+=(imagemagick)
command -v pdftotext >/dev/null 2>&1 || NEED+=(poppler-utils) # the printed forms' text (A4 print check)
command -v zbarimg >/dev/null 2>&1 || NEED+=(zbar-tools) # reads the QR off the decoded thermal receipt (issue 21)
command -v python3 >/dev/null 2>&1 || NEED+=(python3) # the paper-out printer stand-in on a pty (tests/it/thermal.rs)
python3 -c 'import ensurepip' >/dev/null 2>&1 || NEED+=(python3-venv) # the virtualenv of Schemathesis (API fuzzing)
[ -e /usr/include/openssl/evp.h ] || NEED+=(libssl-dev) # SQLCipher (encryption at rest) links libcrypto
command -v soffice >/dev/null 2>&1 || NEED+=(libreoffice-calc-nogui) # opens every export in tests/it/exports_libreoffice.rs (issue 24)
command -v pkg-config >/dev/null 2>&1 || NEED+=(pkg-config) # finds libcrypto for the SQLCipher build
if [ ${#NEED[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${NEED[@]}" >/dev/null
fi

step "cargo fmt --check"
cargo fmt --all -- --check

# Clippy lints the workspace while it is compiled: clippy-driver as the workspace's rustc wrapper (what
# `cargo clippy` itself runs, but here with code generation) and `-D warnings`, in ONE cargo invocation
# that builds every binary and test of the workspace. The dependencies are compiled once, with one feature
# set (a separate `cargo clippy` checked all of them a second time, and a separate `cargo build -p hub`
# resolved without the tests' dev-dependencies and compiled the hub again), and `cargo test` below runs with
# the same settings, so it compiles nothing. Without clippy-driver on this machine: `cargo clippy`, then the
# build. The scripts below are told not to build again (--no-build).
CLIPPY_DRIVER=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver || true)
# linted CMD...: runs a cargo command with clippy-driver as the workspace wrapper and warnings as errors,
# without incremental compilation (a build from scratch is faster without writing its caches).
linted() {
  if [ -n "$CLIPPY_DRIVER" ]; then
    CARGO_INCREMENTAL=0 RUSTC_WORKSPACE_WRAPPER="$CLIPPY_DRIVER" RUSTFLAGS="${RUSTFLAGS:-} -D warnings" "$@"
  else
    CARGO_INCREMENTAL=0 "$@"
  fi
}
if [ -n "$CLIPPY_DRIVER" ]; then
  step "cargo build --workspace --all-targets, linted by clippy as it compiles (-D warnings): the hub, the load tools, every test binary"
  linted cargo build --workspace --all-targets
else
  step "cargo clippy -D warnings (clippy-driver not found for the one-pass build)"
  cargo clippy --workspace --all-targets -- -D warnings
  step "cargo build --workspace --all-targets (the hub, the load tools, every test binary)"
  linted cargo build --workspace --all-targets
fi

# The browser tests run beside the Rust tests, the scale smoke and the deployment checks: they need only the
# hub binary, and all of them wait on hubs, browsers and processes more than they compute (two cores were
# 70 % busy with them one after the other). Their output goes to target/browser-tests.log and is printed
# when they end. The load figures (last step) are measured alone.
step "Browser tests (Debian Chromium, headless), in the background: target/browser-tests.log"
# Its own process group (setsid), so a failure elsewhere stops it with its browsers and hubs.
HUB_BIN="$PWD/target/debug/hub" setsid bash tests/browser/run.sh >target/browser-tests.log 2>&1 &
BROWSER_PID=$!
trap 'kill -- "-$BROWSER_PID" 2>/dev/null || true' EXIT

step "cargo test (unit, property, integration: tests/it is one binary)"
linted cargo test --workspace --no-fail-fast 2>&1 | tee target/cargo-test.log

step "Office scale smoke (2 devices × 50 real dossiers: generate, import, serve, measure)"
bash tests/scale/smoke.sh --no-build

step "API fuzzing: Schemathesis against a field and an office hub, all default checks, a fixed seed (tests/schemathesis/run.sh --quick; reports in target/schemathesis/quick)"
bash tests/schemathesis/run.sh --quick

# Deployment kit checks (issue 7): each part adds its step here.
# <deploy-steps>
step "Deployment kit: shellcheck, systemd-analyze, install twice, the hub under the unit's restrictions, aarch64 under qemu (deploy/check.sh; beside the browser tests' last minutes: its figures are printed, never judged)"
bash deploy/check.sh

step "Waiting for the browser tests"
BROWSER_RC=0
wait "$BROWSER_PID" || BROWSER_RC=$?
trap - EXIT
cat target/browser-tests.log
if [ "$BROWSER_RC" != 0 ]; then
  echo "browser tests failed (exit $BROWSER_RC): target/browser-tests.log" >&2
  exit "$BROWSER_RC"
fi
step "Browser tests passed"

step "Load and footprint, quick (10 phones × 10 s, 1,000-dossier batch; figures never fail it, errors do): tests/perf/run.sh --quick --debug"
bash tests/perf/run.sh --quick --debug --no-build

step "All tests passed"
