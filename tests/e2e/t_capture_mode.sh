#!/bin/sh
# A graph captured in global mode on one thread while another thread
# offloads: the shim's own calls (its pinned store, waits on its own work)
# run in relaxed capture mode, so the capture stays valid.
. tests/e2e/lib.sh
P=$BUILD/e2e/capture_mode
check "cudasim refuses an unsafe call during another thread's global capture" $P unsafe exact
check "cudasim allows it in relaxed mode, the capture stays valid" $P relaxed exact
check "without the shim: the capture stays valid" $P offload exact
check "under a rule: the capture stays valid, the tensor is compressed" \
    with_shim "on=host,size=4M,name=kv" $P offload quant
expect_stat "under a rule: the offload compressed" offloads -eq 1
finish
