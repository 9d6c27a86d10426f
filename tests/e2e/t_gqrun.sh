#!/bin/sh
# gqrun: help and version from the option table, one option per variable,
# LD_PRELOAD kept, exit status passed through, bad options one line + exit 2,
# and a real program compressed under it.
. tests/e2e/lib.sh
GQRUN=$(cd "$BUILD" && pwd)/gqrun
LIB=$(cd "$BUILD" && pwd)/libgqshim.so

# expect_out NAME WANT COMMAND...: stdout of the command (exit 0) must be WANT.
expect_out() {
    name=$1 want=$2
    shift 2
    got=$("$@" 2>"$TMP/err")
    rc=$?
    if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then
        ok "$name"
    else
        bad "$name: exit $rc, got '$got', want '$want'"
        sed 's/^/     | /' "$TMP/err" | tail -5
    fi
}

# expect_usage_error NAME PATTERN ARGS...: exit 2, exactly one line on stderr
# matching PATTERN, nothing on stdout, and the program never started.
expect_usage_error() {
    name=$1 pattern=$2
    shift 2
    "$GQRUN" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    lines=$(wc -l <"$TMP/err")
    if [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ] && grep -q -- "$pattern" "$TMP/err" &&
        [ ! -s "$TMP/out" ]; then
        ok "$name: $(cat "$TMP/err")"
    else
        bad "$name: exit $rc, $lines line(s): $(cat "$TMP/err" "$TMP/out")"
    fi
}

# The variables, as the option table's Markdown rendering lists them.
vars=$("$BUILD/gq-options-md" | sed -n 's/^| `\(GQSHIM_[A-Z_]*\)` |.*/\1/p')
[ -n "$vars" ] || bad "no variables in gq-options-md output"

# --help: every option with its variable, examples and the exit statuses,
# on one screen (at most 45 lines of at most 80 columns); --help-all adds
# every variable's values and the rule grammar.
if "$GQRUN" --help >"$TMP/help" 2>&1; then ok "--help exits 0"; else bad "--help exit $?"; fi
if "$GQRUN" --help-all >"$TMP/helpall" 2>&1; then ok "--help-all exits 0"; else bad "--help-all exit $?"; fi
for v in $vars; do
    opt=--$(echo "${v#GQSHIM_}" | tr 'A-Z_' 'a-z-')
    if grep -Eq -- "^  $opt(\[=|=)[^ ]* +$v( |\$)" "$TMP/help" && grep -q "^  $v=" "$TMP/helpall"; then
        ok "--help lists $v as $opt"
    else
        bad "--help lacks $opt or --help-all lacks $v"
    fi
done
grep -q "GQSHIM_RULES = rule" "$TMP/helpall" && ok "--help-all has the rule grammar" ||
    bad "--help-all lacks the rule grammar"
lines=$(wc -l <"$TMP/help")
cols=$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$TMP/help")
if [ "$lines" -le 45 ] && [ "$cols" -le 80 ] && grep -q "^Examples:" "$TMP/help" &&
    grep -q "^Exit status:" "$TMP/help" && grep -q -- "--cudasim" "$TMP/help"; then
    ok "--help: $lines lines, $cols columns, examples and exit statuses"
else
    bad "--help: $lines lines, $cols columns (want <= 45, <= 80, Examples:, Exit status:)"
fi

# --version: the version of include/gqshim.h and the library it would preload.
version=$(sed -n 's/^#define GQ_SHIM_VERSION "\(.*\)"/\1/p' include/gqshim.h)
expect_out "--version" "gqrun (gqshim) $version
library: $LIB" "$GQRUN" --version

# Each option sets its variable (1:1), with the table's default as a value
# that must be accepted; the two without a default get one of their own.
for v in $vars; do
    opt=--$(echo "${v#GQSHIM_}" | tr 'A-Z_' 'a-z-')
    val=$("$BUILD/gq-options-md" | sed -n "s/^| \`$v\` | [a-z]* | \`\([^\`]*\)\` |.*/\1/p")
    case $v in
    GQSHIM_RULES) val="on=host,min=1M" ;;
    GQSHIM_LOG_FILE) val="$TMP/log" ;;
    esac
    expect_out "$opt=$val sets $v" "$val" env "$v=" "$GQRUN" "$opt=$val" -- \
        sh -c "printf '%s' \"\$$v\""
done
expect_out "--rules VALUE as the next argument" "on=dev" "$GQRUN" --rules on=dev -- \
    sh -c 'printf %s "$GQSHIM_RULES"'
expect_out "--stats alone is 1" "1" "$GQRUN" --stats -- sh -c 'printf %s "$GQSHIM_STATS"'
expect_out "--stats=json:PATH" "json:$TMP/s.json" "$GQRUN" --stats=json:"$TMP/s.json" -- \
    sh -c 'printf %s "$GQSHIM_STATS"'
expect_out "an option overrides the environment" "8" env GQSHIM_BITS=2 "$GQRUN" --bits=8 -- \
    sh -c 'printf %s "$GQSHIM_BITS"'
expect_out "variables not named stay as they were" "2" env GQSHIM_BITS=2 "$GQRUN" --group=32 -- \
    sh -c 'printf %s "$GQSHIM_BITS"'

# LD_PRELOAD: the shim first, what was set kept; never listed twice.
expect_out "LD_PRELOAD unset: the shim alone" "$LIB" env -u LD_PRELOAD "$GQRUN" -- \
    sh -c 'printf %s "$LD_PRELOAD"'
expect_out "LD_PRELOAD kept after the shim" "$LIB:libm.so.6" env LD_PRELOAD=libm.so.6 "$GQRUN" -- \
    sh -c 'printf %s "$LD_PRELOAD"'
expect_out "nested gqrun: the shim once" "$LIB:libm.so.6" env LD_PRELOAD=libm.so.6 "$GQRUN" -- \
    "$GQRUN" -- sh -c 'printf %s "$LD_PRELOAD"'
expect_out "--lib overrides the library" "$LIB" env -u LD_PRELOAD "$GQRUN" --lib="$BUILD/libgqshim.so" -- \
    sh -c 'printf %s "$LD_PRELOAD"'
expect_out "a program without --: the first word" "x y" "$GQRUN" --bits=8 sh -c 'printf %s "$0 $1"' x y

# The program's exit status and death by signal are gqrun's: it execs.
"$GQRUN" -- sh -c 'exit 3'
rc=$?
[ "$rc" -eq 3 ] && ok "exit status 3 passes through" || bad "exit status: $rc, want 3"
sh -c "\"$GQRUN\" -- sh -c 'kill -TERM \$\$'" 2>/dev/null
rc=$?
[ "$rc" -eq 143 ] && ok "death by SIGTERM passes through" || bad "SIGTERM: $rc, want 143"
expect_out "the program keeps gqrun's pid" "same" sh -c \
    "\"$GQRUN\" -- sh -c 'p=\$\$; echo \$p' >\"$TMP/pid\" & w=\$!; wait \$w; [ \"\$(cat \"$TMP/pid\")\" = \"\$w\" ] && echo same"

# --version says where it looked when there is no library, and exits 0.
mkdir -p "$TMP/bin" && cp "$GQRUN" "$TMP/bin/gqrun"
"$TMP/bin/gqrun" --version >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -eq 0 ] && grep -q "^library: not found in $TMP/bin" "$TMP/out" &&
    ok "--version without a library: exit 0, says where it looked" ||
    bad "--version without a library: exit $rc: $(cat "$TMP/out" "$TMP/err")"

# Bad usage: one line, exit 2, the program not run.
expect_usage_error "did you mean --rules" "did you mean --rules?" --rule=on=host -- true
expect_usage_error "did you mean --stats" "did you mean --stats?" --stat -- true
expect_usage_error "--lib that is not a library" "not a shared library" --lib=README.md -- true
expect_usage_error "an option twice with two values" "given twice" --stats --stats=json:x -- true
expect_usage_error "--cudasim where there is none" "no libcuda.so.1 in $TMP" --cudasim="$TMP" -- true
# An inherited GQSHIM_* value the shim would refuse: said before the program
# starts; a strict one stops it (exit 2), a cosmetic one is left to the library.
env GQSHIM_BITS=3 "$GQRUN" -- sh -c 'echo ran' >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -eq 2 ] && [ ! -s "$TMP/out" ] && grep -q "GQSHIM_BITS='3'.*inherited" "$TMP/err" &&
    ok "inherited bad GQSHIM_BITS: exit 2 before the program" ||
    bad "inherited bad GQSHIM_BITS: exit $rc: $(cat "$TMP/err" "$TMP/out")"
expect_out "inherited bad GQSHIM_LOG: the program runs" "ran" env GQSHIM_LOG=verbose "$GQRUN" -- \
    sh -c 'echo ran'
# Programs that cannot run: the reason a person would look for.
(cd "$TMP" && touch notes.txt && "$GQRUN" notes.txt) >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -eq 127 ] && grep -q "not found in PATH (a file of that name is here: ./notes.txt)" "$TMP/err" &&
    ok "a file here but not in PATH: exit 127, says ./notes.txt" || bad "file not in PATH: exit $rc: $(cat "$TMP/err")"
"$GQRUN" /tmp >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -eq 126 ] && grep -q "'/tmp': is a directory" "$TMP/err" && ok "a directory: exit 126, is a directory" ||
    bad "a directory: exit $rc: $(cat "$TMP/err")"
# --cudasim: cudasim's libraries first on LD_LIBRARY_PATH.
expect_out "--cudasim puts build/cudasim first" "$(cd "$BUILD" && pwd)/cudasim:/x" \
    env LD_LIBRARY_PATH=/x "$GQRUN" --cudasim -- sh -c 'printf %s "$LD_LIBRARY_PATH"'

expect_usage_error "unknown option" "unknown option '--bogus'" --bogus -- true
expect_usage_error "unknown short option" "unknown option '-x'" -x -- true
expect_usage_error "bad --bits value" "^gqrun: --bits: GQSHIM_BITS='3'" --bits=3 -- true
expect_usage_error "bad --rules value" "^gqrun: --rules: GQSHIM_RULES: rule 1" --rules=on=hots -- true
expect_usage_error "bad --stats value" "^gqrun: --stats: GQSHIM_STATS=" --stats=maybe -- true
expect_usage_error "missing value" "--pool-max needs a value" --pool-max
expect_usage_error "no program" "no program to run" --bits=8 --
expect_usage_error "--lib that does not exist" "^gqrun: --lib=$TMP/none" --lib="$TMP/none" -- true
"$GQRUN" -- "$TMP/no-such-program" 2>"$TMP/err"
rc=$?
[ "$rc" -eq 127 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && ok "missing program: exit 127, one line" ||
    bad "missing program: exit $rc: $(cat "$TMP/err")"

# A real program under gqrun: offloads into pinned buffers are compressed.
rm -f "$TMP/stats.json"
check "gqrun --rules on=host --stats=json: roundtrip" "$GQRUN" --rules on=host \
    --stats=json:"$TMP/stats.json" -- "$BUILD/e2e/roundtrip" f16 4 64 0 1048576 async pinned quant
expect_stat "gqrun roundtrip" offloads -ge 1
expect_stat "gqrun roundtrip" restores -ge 2
# --bits reaches the shim: the program expects 8-bit codes for a rule without bits=.
rm -f "$TMP/stats.json"
check "gqrun --bits=8 --group=128" "$GQRUN" --rules on=host --bits=8 --group=128 \
    --stats=json:"$TMP/stats.json" -- "$BUILD/e2e/roundtrip" f16 8 128 0 1048576 sync pinned quant
expect_stat "gqrun --bits=8" offloads -ge 1
finish
