#!/bin/sh
# The virtual-memory API (cuMemAddressReserve, cuMemCreate, cuMemMap,
# cuMemSetAccess, cuMemUnmap, cuMemRelease, cuMemAddressFree), strict.
. tests/cudasim/env.sh
expect_exit 0 "virtual-memory checks" env LD_LIBRARY_PATH="$SIMLIB" "$PROGS/vmm_drv"
finish
