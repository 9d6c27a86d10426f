#!/bin/sh
# gpu-kit: yes (tests/gpu/run.sh runs it on the real CUDA stack)
# Weight streaming (upload=compress): compress host-resident weights at the
# first upload, upload them compressed every time, same values every time.
. tests/e2e/lib.sh
U=$BUILD/e2e/upload
W=$BUILD/examples/weights_stream
check "no shim: exact" $U 0 exact
check "upload=compress, dim=last" with_shim "on=host,upload=compress" $U 0 quant
expect_stat "upload=compress, dim=last" restores -eq 6
check "upload=compress, dim=0" with_shim "on=host,upload=compress,dim=0,cols=512" $U 512 quant
expect_stat "upload=compress, dim=0" restores -eq 6
check "on=host without upload=: uploads exact" with_shim "on=host" $U 0 exact
expect_stat "on=host without upload=" restores -eq 0

# Host memory counts RssAnon + RssFile: cudasim's pinned memory (the store's
# blocks among it) must be anonymous to be counted (CUDASIM_PINNED, sim_host.c).
# Under a sanitizer (GQ_PRELOAD_PREFIX) its shadow memory and quarantine count
# in RSS too: the bytes are checked there (8 layers of 4 MiB are enough for
# that: 40 uploads), the memory bound in the plain run (32 layers, 160).
if [ -n "${GQ_PRELOAD_PREFIX:-}" ]; then WCHECK="--check-bytes 8" NUP=40; else WCHECK=--check NUP=160; fi
check "weights_stream $WCHECK: same bytes every pass (and host memory <= 0.30x under --check)" env CUDASIM_PINNED=anon \
    sh -c "LD_PRELOAD=$SHIM GQSHIM_RULES=on=host,min=1M,upload=compress,name=w GQSHIM_STATS=json:$TMP/stats.json $W $WCHECK"
expect_stat "weights_stream" restores -eq $NUP
moved=$(stat moved_bytes) logical=$(stat logical_bytes)
if python3 -c "import sys; sys.exit(0 if $moved <= 0.29 * $logical else 1)"; then
    ok "weights_stream: bytes moved per upload = $(python3 -c "print(round($moved/$logical,3))") x logical"
else
    bad "weights_stream: moved $moved of $logical logical bytes (want <= 0.29x)"
fi
finish
