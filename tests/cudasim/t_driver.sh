#!/bin/sh
# The driver API shares the runtime's state; modules accept fatbins only;
# launches validate their parameters and run the grid in stream order.
. tests/cudasim/env.sh
expect_exit 0 "driver checks (CUDASIM_TEST_KERNELS=1)" env CUDASIM_TEST_KERNELS=1 \
    LD_LIBRARY_PATH="$SIMLIB" "$PROGS/drv_kernels_drv"
expect_exit 0 "test kernels hidden without CUDASIM_TEST_KERNELS" \
    sim drv_kernels_drv test_kernels_are_visible_only_when_asked
expect_exit 2 "a bad CUDASIM_ variable stops the program" env CUDASIM_DELAY_US=soon \
    LD_LIBRARY_PATH="$SIMLIB" "$PROGS/rt_plain"
finish
