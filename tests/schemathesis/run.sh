#!/usr/bin/env bash
# Schemathesis (an external OpenAPI fuzzer) against a field hub and an office hub (issue 22), logged in as
# each hub's admin, with all of Schemathesis's default checks: no server error, responses conforming to
# the documented schema, status codes, content types and headers documented, invalid data rejected, valid
# data accepted, ignored authentication, and the others it runs by default.
#
#   bash tests/schemathesis/run.sh --quick   bounded run for the test command (tests/run-all.sh): a fixed
#                                            seed, few examples per operation (a few minutes for both hubs)
#   bash tests/schemathesis/run.sh --full    the full-length run whose figures are in docs/operations.md
#   ... -- ARGS                              further `schemathesis run` arguments (e.g. --include-path-regex)
#
# Builds nothing: uses target/debug/hub or $HUB_BIN. Installs the pinned Schemathesis into a virtualenv
# under target/ (target/schemathesis-venv) on first use; without network that step fails, loudly.
# The setup (users, pairing, sealed dossiers carried to the office by a batch file) and the operations left
# out, each with its reason, are in run.py. Reports (JUnit, NDJSON) and the hubs' logs go to
# target/schemathesis/quick/ or target/schemathesis/full/. Exit status: 0 only when both runs found nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."

SCHEMATHESIS_VERSION=4.32.5 # verified with this version; its CLI options differ between major versions
VENV="$PWD/target/schemathesis-venv"
HUB_BIN="${HUB_BIN:-$PWD/target/debug/hub}"

MODE=""
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick | --full) MODE="$1" ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "usage: $0 --quick|--full [-- schemathesis args]" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$MODE" ] || { echo "usage: $0 --quick|--full [-- schemathesis args]" >&2; exit 2; }
REPORT_DIR="$PWD/target/schemathesis/${MODE#--}" # target/schemathesis/quick or target/schemathesis/full

[ -x "$HUB_BIN" ] || { echo "hub binary not found at $HUB_BIN (build it first: cargo build -p hub)" >&2; exit 1; }

if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  echo "Installing schemathesis==$SCHEMATHESIS_VERSION into $VENV (needs network: PyPI)"
  python3 -m venv "$VENV" || { echo "error: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
  if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"; then
    echo "error: could not install schemathesis==$SCHEMATHESIS_VERSION from PyPI (no network?): the API fuzzing step did NOT run" >&2
    exit 1
  fi
fi

case "$MODE" in
  # A fixed seed and 20 examples per operation in each phase (examples, coverage, fuzzing, stateful): the
  # same cases every run, a few minutes for both hubs on two cores.
  --quick) ARGS=(--seed 22 --max-examples 20 --generation-database none) ;;
  # Schemathesis's own default budget (100 examples per operation and phase), a fixed seed so that a
  # failure can be replayed.
  --full) ARGS=(--seed 22 --generation-database none) ;;
esac

rm -rf "$REPORT_DIR"
mkdir -p "$REPORT_DIR"
T0=$(date +%s)
RC=0
"$VENV/bin/python" -B tests/schemathesis/run.py --hub-bin "$HUB_BIN" --venv "$VENV" --report-dir "$REPORT_DIR" \
  -- "${ARGS[@]}" "${EXTRA[@]}" || RC=$?
echo "[schemathesis] $MODE: $(($(date +%s) - T0)) s in all; reports in $REPORT_DIR"
if [ "$RC" != 0 ]; then
  echo "[schemathesis] FAILED: see the failures above (and $REPORT_DIR/*.junit.xml)" >&2
fi
exit "$RC"
