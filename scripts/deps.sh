#!/usr/bin/env bash
# Install the Debian packages Axolotl needs to build, test and demo, when any
# is missing. Safe to run repeatedly; does nothing when all are present.
#   scripts/deps.sh                  install what is missing (verbose)
#   scripts/deps.sh --quiet-if-present   print nothing when nothing is missing
#   scripts/deps.sh --list           print the package list
set -euo pipefail

PKGS=(
  # build
  build-essential make pkg-config clang llvm libclang-rt-dev xxd help2man
  libxdp-dev libbpf-dev libelf-dev zlib1g-dev liburing-dev libcmocka-dev
  # test peers and tools
  iproute2 iputils-ping ncat socat apache2-utils curl wrk nghttp2-client chromium tshark ethtool python3 python3-scapy python3-prometheus-client
  procps psmisc util-linux bsdextrautils bind9-dnsutils knot-dnsutils dnsperf libmemcached-tools python3-pymemcache memcached gnuplot-nox
)

case "${1:-}" in
  --list) printf '%s\n' "${PKGS[@]}"; exit 0 ;;
  --help|-h)
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  [ "${1:-}" = "--quiet-if-present" ] || echo "deps: all ${#PKGS[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
