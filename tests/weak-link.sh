#!/usr/bin/env bash
# The full weak-link run (issue 5 "Evidence"): 50 dossiers × 3 photos from a field hub to its office over a
# link shaped to 100 kbit/s with `tc … tbf` between two network namespaces (when root; otherwise the shaping
# proxy limits the rate), 600 ms round trips and two 20 s cuts mid-transfer added by the shaping proxy
# (tests/shaper). Prints the time, goodput against the link's capacity, bytes sent vs the batch's bytes
# (must be ≤ 1.10), lost = 0 and duplicated = 0. Takes tens of minutes; put the figures in
# docs/operations.md. The CI variant is `cargo test -p hub --test it sync_weak_link::`.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build -p hub -p shaper
cargo test -p hub --test it --no-run
if [ "$(id -u)" = 0 ] && ip netns list >/dev/null 2>&1; then
  export WEAK_LINK_NETNS=1
  echo "weak-link: office in a network namespace behind a tbf-shaped veth pair"
else
  echo "weak-link: not root or no 'ip netns': the shaping proxy limits the rate instead of tbf"
fi
WEAK_LINK_FULL=1 cargo test -p hub --test it -- --ignored --nocapture --test-threads 1 sync_weak_link::weak_link_full \
  2>&1 | tee /tmp/weak-link.log
grep -E '^weak link:' /tmp/weak-link.log
