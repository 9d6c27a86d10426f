#!/bin/sh
# Misuse returns the error codes of the real runtime; last errors are per
# thread, sticky errors outlive cudaGetLastError.
. tests/cudasim/env.sh
expect_exit 0 "misuse checks" sim rt_misuse
finish
