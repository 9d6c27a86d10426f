#!/bin/sh
# Hostile input: a program's bad calls (NULL and dangling pointers, zero-byte
# and out-of-bounds copies, wrong kinds, dead streams, double frees) get the
# same status and last error with the shim as without it (rel_badcalls).
. tests/e2e/lib.sh
P=$BUILD/e2e/rel_badcalls
if $P >"$TMP/plain" 2>&1; then ok "without the shim"; else bad "without the shim: exit $?"; fi

same_as_plain() { # NAME RULES [SED-EXPRESSION dropping lines known to differ]
    name=$1 rules=$2 drop=${3:-}
    env LD_PRELOAD="$SHIM" GQSHIM_RULES="$rules" $P >"$TMP/shim" 2>"$TMP/err"
    rc=$?
    if [ -n "$drop" ]; then
        sed -i "$drop" "$TMP/shim"
        sed "$drop" "$TMP/plain" >"$TMP/want"
    else
        cp "$TMP/plain" "$TMP/want"
    fi
    if [ $rc -eq 0 ] && diff "$TMP/want" "$TMP/shim" >"$TMP/diff"; then
        ok "$name: every status and last error as without the shim"
    else
        bad "$name: exit $rc"
        sed 's/^/     | /' "$TMP/diff" "$TMP/err" | head -20
    fi
}
same_as_plain "no rules" ""
same_as_plain "on=dev" "on=dev,size=256K"
# Shim-owned buffers are not page-locked: a copy that names one as the
# device side (kind H2D into a host buffer) fails as for pageable memory
# (tests/RELIABILITY.md, limits). Every other line must agree.
same_as_plain "on=host" "on=host" "/^H2D host to host pointers/d"
same_as_plain "on=host and on=dev" "on=host;on=dev,size=256K" "/^H2D host to host pointers/d"
export CUDASIM_DELAY_US=200
same_as_plain "on=dev, delayed streams" "on=dev,size=256K"
finish
