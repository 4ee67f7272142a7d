#!/usr/bin/env bash
# Browser tests: installs what they need (Debian's Chromium, playwright-core from the lock file), then
# runs i18n.test.mjs (string catalogues) and e2e.test.mjs (the real UI against a real field hub: HUB_BIN,
# default ../../target/debug/hub relative to this folder; build it first with `cargo build -p hub`).
# Screenshots and the hub's output land in artifacts/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
fi

if ! command -v node >/dev/null 2>&1; then
  echo "node (>= 18) is needed: apt-get install -y nodejs npm" >&2
  exit 1
fi

npm ci --no-audit --no-fund --loglevel=error

export HUB_BIN="${HUB_BIN:-../../target/debug/hub}"
if [ ! -x "$HUB_BIN" ]; then
  echo "hub binary not found at $HUB_BIN: build it first (cargo build -p hub) or set HUB_BIN" >&2
  exit 1
fi

mkdir -p artifacts
# Every *.test.mjs file; node runs them one after another on a 2-core machine.
exec node --test --test-concurrency=1 *.test.mjs
