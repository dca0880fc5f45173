#!/usr/bin/env bash
# POSIX layer benchmarks (docs/BENCHMARKS.md "POSIX layer"):
#   1. a non-blocking recv on an empty socket: ours (RTC engine, shm port
#      pair) beside the kernel's recv -> EAGAIN, same run (bench/posix_bench)
#   2. system calls per request of a loaded echo server on the layer,
#      counted with strace -c -f: needs isolated mode (attached to
#      axl-stackd); reported as not measurable when this build lacks it.
# Usage: bench/posix.sh [BUILD_ROOT]   (default build/, release variant)
set -u
B=${1:-${AXL_BUILD:-build}}
BENCH=$B/bench/posix_bench
[ -x "$BENCH" ] || { echo "posix.sh: no $BENCH (make O=$B V=release build-all)" >&2; exit 1; }
echo "== non-blocking recv on an empty socket (median of 7 x 1e6 calls)"
"$BENCH" --iters 1000000 --reps 7 || exit 1
echo "== system calls per request (isolated mode)"
if grep -q "not available yet" "$(dirname "$0")/../src/axl/iso.c" 2>/dev/null; then
  echo "posix_syscalls_per_request unmeasured: this build's native API has no isolated mode (src/axl/iso.c)"
else
  echo "posix_syscalls_per_request unmeasured: run tests/tools/posix_echo --stack under 'strace -c -f' with a load (not automated yet)"
fi
