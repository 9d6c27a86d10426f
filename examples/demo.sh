#!/bin/sh
# make demo: run the KV-cache example without and with the shim.
# On a machine without a GPU the program runs on cudasim (tests/cudasim), a
# CPU stand-in for the CUDA runtime and driver, and says so.
set -e
build=${1:-build}
prog=$build/examples/offload_kv
if nvidia-smi -L >/dev/null 2>&1; then
    where="the GPU"
else
    where="cudasim (no GPU here: the CUDA runtime and driver are simulated on the CPU)"
    export LD_LIBRARY_PATH=$build/cudasim${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    # Pinned memory as anonymous memory, so that the host-memory figures
    # count it (cudasim's default is a shared mapping, as the driver's).
    export CUDASIM_PINNED=anon
fi
echo "== offload_kv on $where, without gqshim"
"$prog"
echo
echo "== the same program with gqshim:"
echo "   LD_PRELOAD=$build/libgqshim.so GQSHIM_RULES='on=host,min=1M,name=kv' GQSHIM_STATS=1"
LD_PRELOAD=$build/libgqshim.so GQSHIM_RULES='on=host,min=1M,name=kv' GQSHIM_STATS=1 "$prog"

echo
echo "== weights_stream on $where, without gqshim"
"$build/examples/weights_stream"
echo
echo "== the same program with gqshim (weights compressed at their first upload):"
echo "   LD_PRELOAD=$build/libgqshim.so GQSHIM_RULES='on=host,min=1M,upload=compress,name=w' GQSHIM_STATS=1"
LD_PRELOAD=$build/libgqshim.so GQSHIM_RULES='on=host,min=1M,upload=compress,name=w' GQSHIM_STATS=1 \
    "$build/examples/weights_stream"
