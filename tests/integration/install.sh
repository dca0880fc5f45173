#!/usr/bin/env bash
# make install into a staging root: binaries, library, public headers,
# pkg-config file and a man page for every binary; then a program built
# against the installed files alone (pkg-config) links and runs.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
O=${AXL_BUILD:-$ROOT/build}
TMPD=$(mktemp -d /tmp/axl-install.XXXXXX)
trap 'rm -rf "$TMPD"' EXIT
NFAIL=0
ok() { echo "ok $*"; }
not_ok() { echo "not ok $*"; NFAIL=$((NFAIL + 1)); }
check() { local n=$1; shift; if "$@"; then ok "$n"; else not_ok "$n"; fi; }

D=$TMPD/root
P=/usr/local
if ! make -C "$ROOT" --no-print-directory O="$O" PREFIX=$P DESTDIR="$D" install >"$TMPD/log" 2>&1; then
  not_ok "make install"; tail -n 20 "$TMPD/log"; exit 1
fi
ok "make install"
bins=$(sed -n 's/^BINS := //p' "$ROOT/Makefile" | tr ' ' '\n' | cut -d: -f1)
for b in $bins; do
  check "installed bin/$b runs --help" bash -c "'$D$P/bin/$b' --help >/dev/null"
  check "man page for $b renders without warnings" \
    bash -c "[ -s '$D$P/share/man/man1/$b.1' ] && ! MANWIDTH=80 man --warnings -l '$D$P/share/man/man1/$b.1' 2>&1 >/dev/null | grep -q ."
done
check "library installed" [ -s "$D$P/lib/libaxl.a" ]
check "headers installed (axl.h)" [ -s "$D$P/include/axl/axl.h" ]
check "pkg-config file installed" [ -s "$D$P/lib/pkgconfig/axl.pc" ]

cat >"$TMPD/prog.c" <<'C'
#include <axl/axl.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    struct axl_config cfg;
    char err[256];
    memset(&cfg, 0, sizeof(cfg));
    /* a mode flag with a bad value is refused with a message */
    if (axl_mode_opt(&cfg, "addr", "not-an-address", err, sizeof(err)) >= 0) return 1;
    if (axl_mode_opt(&cfg, "nonsense", "x", err, sizeof(err)) != 0) return 2;
    puts(axl_strerror(-ECONNREFUSED));
    return 0;
}
C
export PKG_CONFIG_PATH=$D$P/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D
if cc -std=c11 -o "$TMPD/prog" "$TMPD/prog.c" $(pkg-config --cflags --libs axl) 2>"$TMPD/cc.log"; then
  ok "a program builds against the installed headers and library (pkg-config)"
  check "... and runs" bash -c "'$TMPD/prog' | grep -qi refused"
else
  not_ok "a program builds against the installed headers and library (pkg-config)"
  head -n 20 "$TMPD/cc.log"
fi
exit $NFAIL
