#!/bin/sh
# make check-layers: the layering of shim/ (shim/README.md), checked on the
# built objects' symbols. For every undefined symbol of an object that
# another object of shim/ defines, the call goes from the first file to the
# second. It fails on:
#   - a call from a lower layer to a higher one,
#   - a call between gpu/ and host/ (siblings, side by side),
#   - a circle among files (file A reaches B and B reaches A, directly or
#     not): one concern per file, each above the ones it uses.
#
#   shim/check-layers.sh OBJDIR     (OBJDIR: build/obj/shim)
set -u
dir=${1:?usage: check-layers.sh OBJDIR}
[ -d "$dir" ] || { echo "check-layers: no objects under $dir (build first)"; exit 2; }
nm_out=$(mktemp)
trap 'rm -f "$nm_out"' EXIT
# "file kind symbol" for every defined (D) and undefined (U) global symbol.
# gqrun/ is a program of its own (it links the host-mode probe for --check),
# not a layer of the library.
for o in $(find "$dir" -name '*.o' -not -path "$dir/gqrun/*" | sort); do
    f=${o#"$dir"/}
    f=${f%.o}
    nm -g --defined-only "$o" | awk -v f="$f" 'NF == 3 { print f, "D", $3 }'
    nm -u "$o" | awk -v f="$f" '{ print f, "U", $NF }'
done >"$nm_out"

awk '
function rank(f,   l) {
    l = f; sub(/\/.*/, "", l)
    if (l == "entry") return 6
    if (l == "core") return 5
    if (l == "xfer") return 4
    if (l == "store") return 3
    if (l == "gpu" || l == "host") return 2
    if (l == "base") return 1
    return 0
}
function layer(f,   l) { l = f; sub(/\/.*/, "", l); return l }
$2 == "D" { def[$3] = $1; next }
$2 == "U" { use[++n] = $1; sym[n] = $3 }
END {
    bad = 0
    for (i = 1; i <= n; i++) {
        from = use[i]; to = def[sym[i]]
        if (to == "" || to == from) continue
        if (!((from, to) in edge)) { edge[from, to] = sym[i]; out[from] = out[from] " " to }
        if (rank(from) == 0 || rank(to) == 0) {
            printf "check-layers: %s calls %s (%s): a file outside the layer folders\n", from, to, sym[i]
            bad = 1
        } else if (rank(to) > rank(from)) {
            printf "check-layers: %s calls up into %s (%s)\n", from, to, sym[i]
            bad = 1
        } else if (rank(to) == rank(from) && layer(to) != layer(from)) {
            printf "check-layers: %s calls %s (%s): gpu/ and host/ stay apart\n", from, to, sym[i]
            bad = 1
        }
    }
    # Circles: depth-first search over the file graph.
    for (f in out) state[f] = 0
    for (f in out) if (state[f] == 0) dfs(f)
    nfiles = 0; for (f in state) nfiles++
    nedges = 0; for (k in edge) nedges++
    if (!bad && !cyc)
        printf "check-layers: %d files, %d file-to-file calls, no upward call, no circle\n", nfiles, nedges
    exit (bad || cyc)
}
function dfs(f,   k, parts, m, t, j) {
    state[f] = 1; stack[++depth] = f
    m = split(out[f], parts, " ")
    for (k = 1; k <= m; k++) {
        t = parts[k]
        if (state[t] == 1) {
            printf "check-layers: circle:"
            for (j = 1; j <= depth; j++) if (stack[j] == t) break
            for (; j <= depth; j++) printf " %s ->", stack[j]
            printf " %s\n", t
            cyc = 1
        } else if (state[t] == 0) dfs(t)
    }
    depth--; state[f] = 2
}
' "$nm_out"
