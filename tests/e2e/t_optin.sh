#!/bin/sh
# A program that opts in through gqshim.h (dlsym): runs without the shim,
# and under it with no GQSHIM_RULES its registered tensors are compressed.
. tests/e2e/lib.sh
P=$BUILD/e2e/optin

check "without the shim: API absent, exact" $P absent

# No rules at all: only what the program registers is compressed. Rules
# without bits=/group= take GQSHIM_BITS/GQSHIM_GROUP; so do specs.
rm -f "$TMP/stats.json"
check "registered tensors, no GQSHIM_RULES" env LD_PRELOAD=$SHIM GQSHIM_BITS=8 GQSHIM_GROUP=32 \
    GQSHIM_STATS="json:$TMP/stats.json" $P present
expect_stat "registered tensors" offloads -eq 3
expect_stat "registered tensors" restores -eq 1

# Switched off: gq_register says so (-ENODEV), and nothing is compressed,
# which the program's "present" checks would then catch.
cat >"$TMP/off.c" <<'PROG'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include "gqshim.h"
int main(void)
{
    gq_register_fn reg = (gq_register_fn)dlsym(RTLD_DEFAULT, "gq_register");
    char buf[64];
    int rc = reg ? reg(buf, sizeof buf, "") : 1;
    printf("%d\n", rc);
    return rc == -ENODEV ? 0 : 1;
}
PROG
if ${CC:-cc} -Iinclude "$TMP/off.c" -o "$TMP/off" 2>"$TMP/cc.err"; then
    check "GQSHIM_ENABLE=0: gq_register returns -ENODEV" env LD_PRELOAD=$SHIM GQSHIM_ENABLE=0 "$TMP/off"
else
    bad "compile the GQSHIM_ENABLE=0 probe: $(head -1 "$TMP/cc.err")"
fi
finish
