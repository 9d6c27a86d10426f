#!/bin/sh
# README's variable table is the one the option table generates.
BUILD=${BUILD:-build}
want=$("$BUILD/gq-options-md")
have=$(sed -n '/<!-- options:begin -->/,/<!-- options:end -->/p' README.md | sed '1d;$d')
if [ "$want" = "$have" ]; then
    echo "README variable table matches policy/gq_options.h"
else
    echo "README variable table differs from build/gq-options-md:"
    printf '%s\n' "$want" >"${TMPDIR:-/tmp}/gq-want.$$"
    printf '%s\n' "$have" | diff "${TMPDIR:-/tmp}/gq-want.$$" - || true
    rm -f "${TMPDIR:-/tmp}/gq-want.$$"
    exit 1
fi
grep -q 'make test' README.md && grep -q 'make demo' README.md || { echo "README lacks the two commands"; exit 1; }
