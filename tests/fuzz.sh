#!/usr/bin/env bash
# Runs every cargo-fuzz target of the protocol crate (protocol/fuzz) for a bounded time each.
#
#   FUZZ_SECONDS=60        seconds per target (default 60)
#   FUZZ_TARGETS="a b"     only these targets (default: every target `cargo fuzz list` shows)
#   FUZZ_SANITIZER=none    cargo-fuzz sanitizer (default none: the crate has no unsafe code, and the build
#                          keeps debug assertions and overflow checks on, which is what finds its bugs)
#
# Seeds come from protocol/vectors/*.json, written at run time into protocol/fuzz/corpus/ (gitignored).
# Prints, per target, the number of runs and whether a crash was found; exits 1 on any crash and names the
# reproducer file (replay it with `cargo +nightly fuzz run TARGET FILE` in protocol/).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
fuzz_dir="$root/protocol/fuzz"
seconds="${FUZZ_SECONDS:-60}"
sanitizer="${FUZZ_SANITIZER:-none}"

if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "FUZZ_SECONDS must be a positive whole number of seconds, not '$seconds'" >&2
    exit 2
fi

# libFuzzer needs nightly rustc flags. Use the nightly toolchain if installed, else let the default
# toolchain accept them (a machine here cannot download a toolchain).
toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=(+nightly)
else
    echo "note: no nightly toolchain; using the default one with RUSTC_BOOTSTRAP=1" >&2
    export RUSTC_BOOTSTRAP=1
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz..." >&2
    cargo install cargo-fuzz --locked
fi

if command -v python3 >/dev/null 2>&1; then
    python3 "$fuzz_dir/seeds.py" "$root/protocol/vectors" "$fuzz_dir/corpus"
else
    echo "note: python3 not found; the targets start from an empty corpus" >&2
fi

cd "$root/protocol"
if [[ -n "${FUZZ_TARGETS:-}" ]]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(cargo fuzz list --fuzz-dir "$fuzz_dir")
fi
if [[ ${#targets[@]} -eq 0 ]]; then
    echo "no fuzz targets found in $fuzz_dir" >&2
    exit 2
fi

echo "building ${#targets[@]} fuzz targets (sanitizer: $sanitizer)..."
cargo "${toolchain[@]}" fuzz build --fuzz-dir "$fuzz_dir" -s "$sanitizer"

logs="$fuzz_dir/artifacts/logs"
mkdir -p "$logs"
crashed=0
summary=()
for t in "${targets[@]}"; do
    mkdir -p "$fuzz_dir/corpus/$t"
    log="$logs/$t.log"
    echo "fuzzing $t for ${seconds}s..."
    status=0
    cargo "${toolchain[@]}" fuzz run --fuzz-dir "$fuzz_dir" -s "$sanitizer" "$t" "$fuzz_dir/corpus/$t" -- \
        -max_total_time="$seconds" -max_len=16384 -timeout=20 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    if [[ -z "$runs" ]]; then
        runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
    fi
    if [[ -z "$runs" ]]; then
        runs=$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]].*/\1/p' "$log" | tail -n 1)
    fi
    reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    if [[ $status -eq 0 ]]; then
        line=$(printf '%-16s %12s runs   no crash' "$t" "${runs:-?}")
    else
        crashed=1
        if [[ -n "$reproducer" ]]; then
            line=$(printf '%-16s %12s runs   CRASH: reproducer %s' "$t" "${runs:-?}" "$reproducer")
        else
            line=$(printf '%-16s %12s runs   FAILED (exit %s, no reproducer written)' "$t" "${runs:-?}" "$status")
        fi
        echo "---- $t: last lines of $log" >&2
        tail -n 40 "$log" >&2
    fi
    echo "$line"
    summary+=("$line")
done

echo
echo "fuzz summary (${seconds}s per target, full logs in $logs):"
printf '  %s\n' "${summary[@]}"
if [[ $crashed -ne 0 ]]; then
    echo "at least one target crashed: replay a reproducer with" >&2
    echo "  (cd protocol && cargo ${toolchain[*]} fuzz run --fuzz-dir fuzz -s $sanitizer TARGET REPRODUCER)" >&2
    exit 1
fi
