#!/bin/sh
# make install DESTDIR=... PREFIX=/usr lays out bin/, lib/, include/,
# lib/pkgconfig/; the .pc file works through pkg-config; the installed gqrun
# preloads the installed library; make uninstall removes every file again.
BUILD=${BUILD:-build}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
D=$TMP/root
failures=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failures=$((failures + 1)); }

# The parent `make test` may pass its job server and flags; this is a plain run.
if env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s install BUILD="$BUILD" DESTDIR="$D" \
    PREFIX=/usr >"$TMP/make.out" 2>&1; then
    ok "make install DESTDIR PREFIX=/usr"
else
    bad "make install failed"
    sed 's/^/     | /' "$TMP/make.out" | tail -10
fi

for f in bin/gqrun lib/libgqshim.so include/gqshim.h lib/pkgconfig/gqshim.pc; do
    [ -f "$D/usr/$f" ] && ok "installed usr/$f" || bad "missing usr/$f"
done
[ -x "$D/usr/bin/gqrun" ] && ok "gqrun is executable" || bad "gqrun is not executable"
cmp -s include/gqshim.h "$D/usr/include/gqshim.h" && ok "header installed as is" ||
    bad "installed header differs"
extra=$(cd "$D" && find . -type f | grep -v -e '^./usr/bin/gqrun$' -e '^./usr/lib/libgqshim.so$' \
    -e '^./usr/include/gqshim.h$' -e '^./usr/lib/pkgconfig/gqshim.pc$')
[ -z "$extra" ] && ok "nothing else installed" || bad "also installed: $extra"

# pkg-config, as a cross build would use it: the sysroot prefixes the paths.
version=$(sed -n 's/^#define GQ_SHIM_VERSION "\(.*\)"/\1/p' include/gqshim.h)
export PKG_CONFIG_PATH="$D/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$D"
export PKG_CONFIG_LIBDIR="$D/usr/lib/pkgconfig"
got=$(pkg-config --modversion gqshim 2>&1)
[ "$got" = "$version" ] && ok "pkg-config --modversion: $got" || bad "--modversion: '$got', want $version"
flags=$(pkg-config --cflags --libs gqshim 2>&1)
case " $flags " in
*" -I$D/usr/include "*) ok "pkg-config --cflags --libs: $flags" ;;
*) bad "pkg-config --cflags --libs: '$flags', want -I$D/usr/include" ;;
esac
pre=$(pkg-config --variable=preload gqshim)
case $pre in
*/usr/lib/libgqshim.so) ok "pkg-config --variable=preload: $pre" ;;
*) bad "pkg-config --variable=preload: '$pre'" ;;
esac

# A program built with those flags finds gqshim.h, and the API at run time
# only through the installed gqrun.
cat >"$TMP/probe.c" <<'PROG'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <gqshim.h>
int main(void)
{
    struct gq_stats_public st;
    gq_stats_fn f = (gq_stats_fn)dlsym(RTLD_DEFAULT, "gq_stats");
    printf("%s %s\n", GQ_SHIM_VERSION, f && f(&st, sizeof st) == 0 ? "api" : "plain");
    return 0;
}
PROG
# shellcheck disable=SC2086
if ${CC:-cc} $flags "$TMP/probe.c" -o "$TMP/probe" 2>"$TMP/cc.err"; then
    ok "a program compiles with the pkg-config flags"
else
    bad "compile with '$flags': $(head -3 "$TMP/cc.err")"
fi
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
[ "$("$TMP/probe")" = "$version plain" ] && ok "probe without the shim: plain" ||
    bad "probe without the shim: $("$TMP/probe")"
[ "$("$D/usr/bin/gqrun" -- "$TMP/probe")" = "$version api" ] && ok "probe under installed gqrun: api" ||
    bad "probe under installed gqrun: $("$D/usr/bin/gqrun" -- "$TMP/probe" 2>&1)"

# The installed gqrun finds the installed library (../lib), not the build's.
want="$(cd "$D/usr/lib" && pwd -P)/libgqshim.so"
got=$("$D/usr/bin/gqrun" -- sh -c 'printf %s "$LD_PRELOAD"')
[ "$got" = "$want" ] && ok "installed gqrun preloads $got" || bad "installed gqrun preloads '$got', want $want"
"$D/usr/bin/gqrun" --version | grep -qx "library: $want" && ok "installed gqrun --version names it" ||
    bad "installed gqrun --version: $("$D/usr/bin/gqrun" --version 2>&1)"
# Through a symlink too (a PATH entry pointing into the install).
ln -s "$D/usr/bin/gqrun" "$TMP/gqrun-link"
got=$("$TMP/gqrun-link" -- sh -c 'printf %s "$LD_PRELOAD"')
[ "$got" = "$want" ] && ok "gqrun through a symlink finds it" || bad "through a symlink: '$got'"
# Without the library it says so, on one line, and exits 2.
mv "$D/usr/lib/libgqshim.so" "$TMP/moved.so"
"$D/usr/bin/gqrun" -- true 2>"$TMP/err"
rc=$?
[ "$rc" -eq 2 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && ok "no library: exit 2, $(cat "$TMP/err")" ||
    bad "no library: exit $rc: $(cat "$TMP/err")"
mv "$TMP/moved.so" "$D/usr/lib/libgqshim.so"

env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s uninstall BUILD="$BUILD" DESTDIR="$D" PREFIX=/usr \
    >"$TMP/make.out" 2>&1 || bad "make uninstall failed"
left=$(find "$D" -type f)
[ -z "$left" ] && ok "make uninstall removes every file" || bad "left after uninstall: $left"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
