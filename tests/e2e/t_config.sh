#!/bin/sh
# The bad-configuration matrix: each invalid GQSHIM_* value or rule gives one
# line naming the variable, the program still runs and its data are exact
# (the shim passes everything through); GQSHIM_STRICT=1 exits with status 2.
. tests/e2e/lib.sh
RT="$BUILD/e2e/roundtrip f16 4 64 0 262144 async pinned exact"

# bad VAR VALUE [RULES]: invalid VAR=VALUE next to a valid rule set.
bad_value() {
    var=$1 val=$2 rules=${3:-on=host}
    if env "$var=$val" GQSHIM_RULES="$rules" LD_PRELOAD=$SHIM $RT >"$TMP/o" 2>"$TMP/e"; then
        [ "$var" = GQSHIM_RULES ] && rules=$val
        n=$(grep -c "$var" "$TMP/e")
        if [ "$n" -eq 1 ] && grep -q "ok (exact)" "$TMP/o"; then
            ok "$var='$(printf %.40s "$val")': one line, exact data"
        else
            bad "$var='$val': $n lines name it (want 1)"
            sed 's/^/     | /' "$TMP/e" | head -5
        fi
    else
        bad "$var='$val': the program failed"
        sed 's/^/     | /' "$TMP/e" | head -5
    fi
}

bad_value GQSHIM_ENABLE maybe
bad_value GQSHIM_LOG loud
bad_value GQSHIM_TRACE 2
bad_value GQSHIM_VERIFY yess
bad_value GQSHIM_STATS json:
bad_value GQSHIM_POOL_MAX -1
bad_value GQSHIM_POOL_MAX 12Q
bad_value GQSHIM_POOL_MAX 99999999999999999999999G
bad_value GQSHIM_POOL_MAX " "1M2
for r in "on=gpu" "on=host,bits=3" "on=host,group=7" "on=host,group=2000" "on=host,dim=0" \
    "on=host,cols=64" "on=host,min=2M,max=1M" "on=host,colour=red" "on=host,bits=4,bits=8" \
    "on=host,nth=0" "on=host,nth=5-2" "on=host,size=abc" "min=1M" "on=host,,bits=4" \
    "on=host,name=$(printf 'x%.0s' $(seq 1 40))" "on=host,dtype=f64" "on=host,min=-5" \
    "on=host,max=18446744073709551616"; do
    bad_value GQSHIM_RULES "$r" "$r"
done
long=$(printf 'on=host,min=1M;%.0s' $(seq 1 400))
bad_value GQSHIM_RULES "$long" "$long"

# Strict: exit 2, before the program does anything.
env GQSHIM_STRICT=1 GQSHIM_RULES=on=nowhere LD_PRELOAD=$SHIM $RT >"$TMP/o" 2>"$TMP/e"
rc=$?
if [ $rc -eq 2 ] && grep -q GQSHIM_RULES "$TMP/e"; then
    ok "GQSHIM_STRICT=1 with a bad rule: exit 2"
else
    bad "GQSHIM_STRICT=1 with a bad rule: exit $rc"
fi

# A typo in a variable name is pointed out, and changes nothing.
if env GQSHIM_RULE=on=host LD_PRELOAD=$SHIM $RT >"$TMP/o" 2>"$TMP/e" &&
    grep -q GQSHIM_RULES "$TMP/e" && grep -q "ok (exact)" "$TMP/o"; then
    ok "misspelt GQSHIM_RULE: hint names GQSHIM_RULES"
else
    bad "misspelt GQSHIM_RULE"
    sed 's/^/     | /' "$TMP/e" | head -5
fi

# Unset rules: exact, silent at the default log level.
if env LD_PRELOAD=$SHIM $RT >"$TMP/o" 2>"$TMP/e" && [ ! -s "$TMP/e" ]; then
    ok "no GQSHIM_RULES: exact and silent"
else
    bad "no GQSHIM_RULES"
fi
finish
