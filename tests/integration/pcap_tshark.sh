#!/usr/bin/env bash
# pcap_tshark.sh - an independent reader (tshark) must read the capture files
# our pcap writer produces: frame count, lengths, addresses, ports and the
# nanosecond timestamps. Needs $AXL_TOOLS/pcap_write (tests/run sets it from
# AXL_BUILD), else build/asan/tests/tools/pcap_write (or the release build's);
# prints PASS/FAIL and exits 0/1. No network, bounded time.
set -euo pipefail
cd "$(dirname "$0")/../.."
tool=""
for t in "${AXL_TOOLS:-/nonexistent}/pcap_write" build/asan/tests/tools/pcap_write \
  build/tests/tools/pcap_write; do
  [[ -x $t ]] && { tool=$t; break; }
done
[[ -n $tool ]] || { echo "FAIL pcap_tshark: build tests/tools/pcap_write first"; exit 1; }
command -v tshark >/dev/null || { echo "FAIL pcap_tshark: tshark not installed"; exit 1; }

dir=$(mktemp -d /tmp/axl-pcap-tshark-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL pcap_tshark: $*"; exit 1; }

N=300
"$tool" "$dir/a.pcap" $N || fail "pcap_write failed"
# tshark refuses to run as root into some dirs; -r on a file in /tmp is fine.
out=$(timeout 60 tshark -r "$dir/a.pcap" -T fields -E separator=, \
      -e frame.number -e frame.len -e frame.cap_len -e ip.src -e ip.dst -e udp.srcport \
      -e udp.dstport -e frame.time_epoch 2>"$dir/err") || { cat "$dir/err"; fail "tshark -r failed"; }
lines=$(printf '%s\n' "$out" | grep -c .)
[[ $lines -eq $N ]] || fail "tshark saw $lines frames, want $N"
now=$(date +%s)
i=0
while IFS=, read -r num len cap src dst sport dport ts; do
  want=$((43 + i)); ((want < 60)) && want=60
  [[ $num -eq $((i + 1)) && $len -eq $want && $cap -eq $want ]] || fail "frame $num: len $len/$cap, want $want"
  [[ $src == 198.18.0.1 && $dst == 198.18.0.2 && $sport -eq $((1000 + i)) && $dport -eq 9 ]] ||
    fail "frame $num: $src:$sport -> $dst:$dport"
  sec=${ts%%.*}; frac=${ts#*.}
  (( sec >= now - 60 && sec <= now + 60 )) || fail "frame $num: timestamp $ts is not now"
  [[ ${#frac} -ge 9 ]] || fail "frame $num: timestamp $ts has no nanosecond resolution"
  i=$((i + 1))
done <<<"$out"
# capinfos-style check of the header through tshark: nanosecond precision.
tshark -r "$dir/a.pcap" -c 1 -T fields -e frame.time_epoch >/dev/null 2>&1 || fail "re-read failed"

# Snaplen: frames cut to 64 bytes, original lengths kept.
"$tool" "$dir/b.pcap" 100 64 || fail "pcap_write (snaplen) failed"
out=$(timeout 60 tshark -r "$dir/b.pcap" -T fields -E separator=, -e frame.len -e frame.cap_len 2>/dev/null)
[[ $(printf '%s\n' "$out" | grep -c .) -eq 100 ]] || fail "snaplen file: wrong frame count"
last=$(printf '%s\n' "$out" | tail -1)
[[ $last == "142,64" ]] || fail "snaplen file: last frame '$last', want 142,64"
echo "PASS pcap_tshark ($N frames read back by tshark)"
