#!/bin/sh
# Device memory is apart from host memory (host access dies with SIGSEGV,
# misplaced pointers are cudaErrorInvalidValue), freed memory leaves the RSS,
# devices have their own ranges.
. tests/cudasim/env.sh
expect_exit 0 "memory checks" sim rt_memory
finish
