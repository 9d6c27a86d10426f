#!/bin/sh
# The bad-configuration matrix: each invalid GQSHIM_* value or rule gives one
# line naming the variable, the program still runs and its data are exact
# (the shim passes everything through); GQSHIM_STRICT=1 exits with status 2.
. tests/e2e/lib.sh
RT="$BUILD/e2e/roundtrip f16 4 64 0 262144 async pinned exact"
RT_EXACT=$RT
RT_QUANT="$BUILD/e2e/roundtrip f16 4 64 0 262144 async pinned quant"

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

# lenient VAR VALUE: a bad log level, log file or stats destination costs
# only itself: one line saying the default is kept, and the rule still
# compresses (the program's data are the codec's, not exact).
lenient() {
    var=$1 val=$2
    if env "$var=$val" GQSHIM_RULES=on=host LD_PRELOAD=$SHIM $RT_QUANT >"$TMP/o" 2>"$TMP/e"; then
        n=$(grep -c "$var" "$TMP/e")
        if [ "$n" -eq 1 ] && grep -q "keeping the default" "$TMP/e" && [ "$(wc -l <"$TMP/e")" -eq 1 ]
        then
            ok "$var='$(printf %.40s "$val")': one line, the default kept, still compressing"
        else
            bad "$var='$val': $n lines name it (want 1, keeping the default)"
            sed 's/^/     | /' "$TMP/e" | head -5
        fi
    else
        bad "$var='$val': the program failed (or did not compress)"
        sed 's/^/     | /' "$TMP/e" "$TMP/o" | head -5
    fi
}
lenient GQSHIM_LOG loud
lenient GQSHIM_LOG verbose
lenient GQSHIM_STATS json
lenient GQSHIM_STATS json:
lenient GQSHIM_STATS 'json:%x'
lenient GQSHIM_LOG_FILE '%q{GQ_NO_SUCH_VARIABLE}'

bad_value GQSHIM_ENABLE maybe
bad_value GQSHIM_TRACE 2
bad_value GQSHIM_VERIFY yess
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

# Every variable with a typed value, each kind of hostile value: negative,
# overflowing, non-numeric, hexadecimal, 100 000 bytes long, control bytes.
huge=$(printf '1%.0s' $(seq 1 100000))
for var in GQSHIM_ENABLE GQSHIM_BITS GQSHIM_GROUP GQSHIM_TRACE GQSHIM_POOL_MAX GQSHIM_STRICT \
    GQSHIM_VERIFY GQSHIM_ERROR_EXITCODE; do
    for val in -1 18446744073709551617 abc 0x10 "$huge" "$(printf '1\t1')"; do
        bad_value "$var" "$val"
    done
done
for var in GQSHIM_LOG GQSHIM_STATS; do
    for val in -1 18446744073709551617 abc 0x10 "$huge" "$(printf '1\t1')"; do
        lenient "$var" "$val"
    done
done
lenient GQSHIM_LOG_FILE "/$huge"
# Each rule key with the same kinds of values.
for key in on min max size nth dtype bits group dim cols name upload; do
    vals='"" -1 18446744073709551617 abc 0x10 "$huge"'
    [ "$key" = name ] && vals='"" "$huge"' # any short label is a name
    eval "set -- $vals"
    for val in "$@"; do
        r="on=host,$key=$val"
        [ "$key" = on ] && r="on=$val"
        [ "$key" = cols ] && r="on=host,dim=0,cols=$val"
        bad_value GQSHIM_RULES "$r" "$r"
    done
done
for r in "on=host,min=1M,min=2M" "on=host,dim=0,cols=64,cols=128" "on=host,name=a,name=b" \
    "on=host,size=1M|" "on=host,size=|1M" "on=host,nth=1-" "on=host,nth=-3" "on=host,min=1K1" \
    "on=host,min=1MM" "on=host,group=1024,group=8" ";" ";;" "=" "on" "on=host,=4"; do
    bad_value GQSHIM_RULES "$r" "$r"
done

# Empty means unset: the default, silently (here: rules compress, so the
# data are the codec's, and no line is printed).
for var in GQSHIM_ENABLE GQSHIM_BITS GQSHIM_GROUP GQSHIM_LOG GQSHIM_LOG_FILE GQSHIM_STATS \
    GQSHIM_TRACE GQSHIM_POOL_MAX GQSHIM_STRICT GQSHIM_VERIFY; do
    if env "$var=" GQSHIM_RULES=on=host LD_PRELOAD=$SHIM $RT_QUANT >"$TMP/o" 2>"$TMP/e" &&
        ! grep -q "$var" "$TMP/e"; then
        ok "$var='': the default, silently"
    else
        bad "$var='': $(head -c 200 "$TMP/e" "$TMP/o")"
    fi
done

# The same variable twice in the environment (execve allows it): the first
# one counts, as for getenv in the program itself.
dup() { # WANT NAME=V1 NAME=V2
    want=$1
    shift
    python3 - LD_PRELOAD="$SHIM" "$@" -- $RT_EXACT >"$TMP/o" 2>"$TMP/e" <<'PY'
import ctypes, os, sys
i = sys.argv.index('--')
extra, argv = sys.argv[1:i], sys.argv[i + 1:]
env = [k + '=' + v for k, v in os.environ.items()] + extra
libc = ctypes.CDLL(None)
A, E = ctypes.c_char_p * (len(argv) + 1), ctypes.c_char_p * (len(env) + 1)
libc.execve(argv[0].encode(), A(*[a.encode() for a in argv], None), E(*[e.encode() for e in env], None))
sys.exit(127)
PY
    rc=$?
    n=$(grep -c '^gqshim' "$TMP/e")
    if [ $rc -eq 0 ] && [ "$n" -eq "$want" ]; then ok "duplicated $*: $n line(s), exact"; else
        bad "duplicated $*: exit $rc, $n lines (want $want)"; sed 's/^/     | /' "$TMP/e" | head -3; fi
}
dup 1 GQSHIM_BITS=3 GQSHIM_BITS=8
dup 1 GQSHIM_RULES=on=host,min=1G GQSHIM_RULES=on=host # the exit line: matched nothing
grep -q "matched none of the program's allocations" "$TMP/e" &&
    ok "rules that match nothing: a line at exit" || bad "rules that match nothing: no line"
dup 1 GQSHIM_RULES=on=gpu GQSHIM_RULES=on=host

# Strict: exit 2, before the program does anything.
env GQSHIM_STRICT=1 GQSHIM_RULES=on=nowhere LD_PRELOAD=$SHIM $RT >"$TMP/o" 2>"$TMP/e"
rc=$?
if [ $rc -eq 2 ] && grep -q GQSHIM_RULES "$TMP/e"; then
    ok "GQSHIM_STRICT=1 with a bad rule: exit 2"
else
    bad "GQSHIM_STRICT=1 with a bad rule: exit $rc"
fi
# ... with an exit status of the user's choosing, told apart from the program's 2.
env GQSHIM_STRICT=1 GQSHIM_ERROR_EXITCODE=97 GQSHIM_RULES=on=nowhere LD_PRELOAD=$SHIM $RT \
    >"$TMP/o" 2>"$TMP/e"
rc=$?
if [ $rc -eq 97 ] && [ "$(wc -l <"$TMP/e")" -eq 1 ] && grep -q "exiting with status 97" "$TMP/e"; then
    ok "GQSHIM_ERROR_EXITCODE=97: exit 97, one line"
else
    bad "GQSHIM_ERROR_EXITCODE=97: exit $rc: $(cat "$TMP/e")"
fi
# A strict value that is invalid: one line that says what it costs.
env GQSHIM_BITS=3 GQSHIM_RULES=on=host GQSHIM_STATS=1 LD_PRELOAD=$SHIM $RT_EXACT >"$TMP/o" 2>"$TMP/e"
if [ "$(grep -c '^gqshim\[' "$TMP/e")" -eq 1 ] && grep -q "passes every CUDA call through" "$TMP/e" &&
    grep -q "status.*off: invalid GQSHIM_\* settings" "$TMP/e"; then
    ok "invalid GQSHIM_BITS: one line saying the shim is off, and the table says so"
else
    bad "invalid GQSHIM_BITS: $(cat "$TMP/e" | head -5)"
fi

# A typo in a variable name is pointed out, and changes nothing.
if env GQSHIM_RULE=on=host LD_PRELOAD=$SHIM $RT >"$TMP/o" 2>"$TMP/e" &&
    grep -q GQSHIM_RULES "$TMP/e" && grep -q "ok (exact)" "$TMP/o"; then
    ok "misspelt GQSHIM_RULE: hint names GQSHIM_RULES"
else
    bad "misspelt GQSHIM_RULE"
    sed 's/^/     | /' "$TMP/e" | head -5
fi

# Unset rules: exact, and one line at the default log level saying that
# nothing will be compressed and how to find a rule.
if env LD_PRELOAD=$SHIM $RT >"$TMP/o" 2>"$TMP/e" && [ "$(wc -l <"$TMP/e")" -eq 1 ] &&
    grep -q "GQSHIM_RULES is unset: nothing is compressed.*GQSHIM_TRACE=1" "$TMP/e"; then
    ok "no GQSHIM_RULES: exact, one line saying so"
else
    bad "no GQSHIM_RULES: $(cat "$TMP/e")"
fi
# A log file that takes no writes (/proc/version: EIO for root, EACCES for
# others): one line saying so, on stderr, and the messages follow there.
env GQSHIM_LOG_FILE=/proc/version GQSHIM_RULES=on=hots LD_PRELOAD=$SHIM $RT >"$TMP/o" 2>"$TMP/e"
if grep -q "GQSHIM_LOG_FILE.*cannot" "$TMP/e" && grep -q "GQSHIM_RULES: rule 1" "$TMP/e"; then
    ok "GQSHIM_LOG_FILE=/proc/version: said once, messages on stderr"
else
    bad "GQSHIM_LOG_FILE=/proc/version: $(cat "$TMP/e")"
fi
# A stats file that cannot be written: said at start-up with the reason, and
# the table goes to the log instead of being lost.
env GQSHIM_STATS=json:/nonexistent/x.json GQSHIM_RULES=on=host LD_PRELOAD=$SHIM $RT_QUANT \
    >"$TMP/o" 2>"$TMP/e"
if grep -q "json:/nonexistent/x.json: cannot write the file (No such file or directory)" "$TMP/e" &&
    grep -q "^gqshim: stats" "$TMP/e" && [ "$(grep -c '^gqshim\[' "$TMP/e")" -eq 1 ]; then
    ok "GQSHIM_STATS=json:/nonexistent/x.json: one line with errno, the table in the log"
else
    bad "GQSHIM_STATS=json:/nonexistent/x.json: $(cat "$TMP/e" | head -3)"
fi

# GQSHIM_ENABLE=0 is a choice: silent.
if env GQSHIM_ENABLE=0 LD_PRELOAD=$SHIM $RT >"$TMP/o" 2>"$TMP/e" && [ ! -s "$TMP/e" ]; then
    ok "GQSHIM_ENABLE=0: exact and silent"
else
    bad "GQSHIM_ENABLE=0: $(cat "$TMP/e")"
fi
# No driver (no GPU, cudasim not on the path): one line at start-up saying
# so and how to fix it, and the program's calls fail as they would without
# the shim, cudaMallocHost under an on=host rule included.
env LD_LIBRARY_PATH= GQSHIM_RULES=on=host LD_PRELOAD=$SHIM $BUILD/examples/offload_kv >"$TMP/o" 2>"$TMP/e"
rc=$?
env LD_LIBRARY_PATH= $BUILD/examples/offload_kv >"$TMP/o0" 2>"$TMP/e0"
rc0=$?
if [ $rc -eq $rc0 ] && [ $rc -ne 0 ] && grep -q "cannot load the CUDA driver.*cudasim" "$TMP/e" &&
    grep -q "cudaMallocHost.*insufficient" "$TMP/e" &&
    [ "$(grep -v '^gqshim' "$TMP/e")" = "$(cat "$TMP/e0")" ]; then
    ok "no driver: one start-up line, cudaMallocHost fails as without the shim (exit $rc)"
else
    bad "no driver: exit $rc (without the shim $rc0): $(cat "$TMP/e" | head -4)"
fi
finish
