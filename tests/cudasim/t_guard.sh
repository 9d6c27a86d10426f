#!/bin/sh
# CUDASIM_SYNC_GUARD: an API that may synchronize the device implicitly,
# called while a copy is on the stack, aborts the process (=1 and =wait); a
# host wait inside an asynchronous copy aborts under =wait only, also the
# wait of an asynchronous copy into pageable memory; the same calls
# elsewhere are left alone. Abort: exit status 134.
. tests/cudasim/env.sh
g() { mode=$1; shift; CUDASIM_SYNC_GUARD=$mode sim rt_guard_export "$@" 2>/dev/null; }
expect_exit 0 "guard off: cudaMalloc inside a copy is allowed" g 0 malloc-in-copy
expect_exit 134 "guard 1: cudaMalloc inside a copy aborts" g 1 malloc-in-copy
expect_exit 134 "guard wait: cudaMalloc inside a copy aborts" g wait malloc-in-copy
expect_exit 0 "guard 1: a host wait inside an async copy is allowed" g 1 sync-in-async
expect_exit 134 "guard wait: a host wait inside an async copy aborts" g wait sync-in-async
expect_exit 0 "guard wait: a host wait inside a synchronous copy is allowed" g wait sync-in-copy
expect_exit 0 "guard wait: allocations and syncs outside copies are allowed" g wait malloc-outside
# An asynchronous copy into pageable memory waits on the host: inside
# another asynchronous copy, the guard (wait) sees that wait as any other.
expect_exit 134 "guard wait: an async copy to pageable memory inside an async copy aborts" \
    g wait pageable-in-async
expect_exit 0 "guard 1: an async copy to pageable memory inside an async copy is allowed" \
    g 1 pageable-in-async
expect_exit 0 "guard wait: an async copy to pinned memory inside an async copy is allowed" \
    g wait pinned-in-async
expect_exit 0 "guard wait: a program's own async copy to pageable memory is allowed" \
    g wait pageable-async
msg=$(CUDASIM_SYNC_GUARD=wait sim rt_guard_export pageable-in-async 2>&1 >/dev/null)
case $msg in
*"an asynchronous copy into pageable memory called on a copy's path (inside cudaMemcpyAsyncGuardProbe)"*)
    echo "ok   the abort names the pageable copy and the enclosing one" ;;
*) echo "FAIL the pageable abort message: $msg"; failures=$((failures + 1)) ;;
esac
msg=$(CUDASIM_SYNC_GUARD=1 sim rt_guard_export malloc-in-copy 2>&1 >/dev/null)
case $msg in
*"cudaMalloc called on a copy's path (inside cudaMemcpyGuardProbe)"*) echo "ok   the abort names the API and the copy" ;;
*) echo "FAIL the abort message: $msg"; failures=$((failures + 1)) ;;
esac
expect_exit 2 "CUDASIM_SYNC_GUARD=bogus stops the program" g bogus malloc-outside
finish
