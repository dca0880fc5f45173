#!/usr/bin/env bash
# Every binary: --help works, bad arguments get a clear message and a non-zero
# exit (never a crash or a sanitizer report).
set -u
ROOT=${AXL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${AXL_BIN:-$ROOT/build/asan/bin}
T=$(mktemp -d /tmp/axl-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT

expect() { # expect NAME WANT_RC PATTERN CMD...
  local name=$1 want=$2 pat=$3; shift 3
  "$@" >"$T/out" 2>"$T/err"; local rc=$?
  if [ "$rc" -ne "$want" ]; then echo "not ok $name (exit $rc, want $want)"; cat "$T/err"; return; fi
  if ! grep -qiE -- "$pat" "$T/out" "$T/err"; then echo "not ok $name (no '$pat' in output)"; cat "$T/out" "$T/err"; return; fi
  if grep -qE 'Sanitizer|runtime error' "$T/err"; then echo "not ok $name (sanitizer)"; cat "$T/err"; return; fi
  echo "ok $name"
}

for b in "$BIN"/*; do
  [ -x "$b" ] || continue
  n=$(basename "$b")
  expect "$n --help" 0 'usage' "$b" --help
  expect "$n rejects an unknown option" 2 'unknown option|unrecognized' "$b" --no-such-option
done

S=$BIN/axl-stackd
expect "stackd: --port required" 2 'port is required' "$S" --addr 198.18.0.2/24
expect "stackd: --addr required" 2 'addr is required' "$S" --port afpacket:lo
expect "stackd: bad CIDR" 2 'not an IPv4 address' "$S" --port afpacket:lo --addr 198.18.0.300/24
expect "stackd: prefix out of range" 2 'prefix' "$S" --port afpacket:lo --addr 198.18.0.2/33
expect "stackd: unknown port kind" 2 'unknown' "$S" --port floppy:fd0 --addr 198.18.0.2/24
expect "stackd: empty port name" 2 'name' "$S" --port afxdp: --addr 198.18.0.2/24
expect "stackd: bad queue count" 2 'queue' "$S" --port afxdp:lo:0 --addr 198.18.0.2/24
expect "stackd: --mtu out of range" 2 'range' "$S" --port afpacket:lo --addr 198.18.0.2/24 --mtu 70000
expect "stackd: bad --mac" 2 'MAC' "$S" --port afpacket:lo --addr 198.18.0.2/24 --mac 01:02
expect "stackd: bad --udp-echo" 2 'port number' "$S" --port shm:$T/w --addr 198.18.0.2/24 --udp-echo 70000 --duration 1
expect "stackd: missing value" 2 'requires|missing|argument' "$S" --port
expect "stackd: stray argument" 2 'unexpected argument' "$S" --port afpacket:lo --addr 198.18.0.2/24 extra
expect "stackd: interface that does not exist" 1 'cannot' "$S" --port afpacket:axl-nonexist0 --addr 198.18.0.2/24
expect "stackd: afxdp on an interface that does not exist" 1 'cannot' "$S" --port afxdp:axl-nonexist0 --addr 198.18.0.2/24
exit 0
