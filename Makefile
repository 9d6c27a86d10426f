# gqshim — top-level build. Each folder owns a fragment (*.mk) that adds its
# targets; this file holds the toolchain, the flags and the user-facing goals.
#
#   make            library, cudasim, examples, tests' programs
#   make test       build and run every test (units under cmocka, e2e under cudasim)
#   make demo       build and run the main example with and without the shim
#   make bench      build the benchmarks (build/bench/*)
#   make fuzz       run each fuzz target for a bounded time
#   make check-sanitize   the suites under ASan+UBSan
#   V=1             show the commands

CUDA_HOME ?= /usr/local/cuda
PREFIX    ?= /usr/local
DESTDIR   ?=
BUILD     ?= build
NVCC      ?= $(CUDA_HOME)/bin/nvcc
CC        ?= gcc
CLANG     ?= clang

ifeq ($(V),1)
Q :=
else
Q := @
endif

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wformat=2 -Wno-unused-parameter
# No FMA contraction and no fast-math anywhere: the CPU and GPU codecs must agree bit for bit.
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -fPIC $(WARN) -ffp-contract=off -fno-fast-math -pthread
CPPFLAGS += -I. -Iinclude -Ikernels -Ipolicy -Ishim -isystem $(CUDA_HOME)/include
SANFLAGS ?=
# Every link gets the sanitizer runtime, also rules that compile without
# SANFLAGS (their objects link instrumented archives).
LDFLAGS  += -pthread $(SANFLAGS)

CUDA_LIBDIR := $(CUDA_HOME)/lib64
CUDASIM_DIR := $(BUILD)/cudasim

.PHONY: all test demo bench fuzz check-sanitize install clean deps
# Objects are intermediate files of pattern chains: keep them (no rebuilds, no "rm" noise).
.PRECIOUS: $(BUILD)/obj/%.o
all:

deps:
	$(Q)sh mk/deps.sh

# Every fragment appends to these.
LIBS_STATIC  :=   # convenience archives
UNIT_TESTS   :=   # cmocka binaries, run by `make test`
E2E_PROGS    :=   # programs the e2e scripts run
TEST_SCRIPTS :=   # shell tests (tests/*/t_*.sh), run by `make test`
BENCHES      :=
EXAMPLES     :=

include kernels/kernels.mk
include policy/policy.mk
include shim/shim.mk
include shim/gqrun/gqrun.mk
include mk/install.mk
include tests/cudasim/cudasim.mk
include tests/tests.mk
include examples/examples.mk
include tests/bench/bench.mk
include tests/bench/shim_bench.mk
include tests/fuzz/fuzz.mk
include tests/gpu/gpu.mk

all: $(BUILD)/.deps-ok $(LIBGQSHIM) $(CUDASIM_LIBS) $(UNIT_TESTS) $(E2E_PROGS) $(EXAMPLES)

# What the sanitized suites run (tests/sanitize.sh): all but the fuzz targets
# (sanitized builds of their own already), the GPU kit (not run there) and
# gq-options-md (only t_gqrun and t_readme run it, neither sanitized).
.PHONY: sanitize-progs
sanitize-progs: $(BUILD)/.deps-ok $(LIBGQSHIM) $(CUDASIM_LIBS) $(UNIT_TESTS) $(E2E_PROGS) $(EXAMPLES) \
    $(GQRUN)

# Generic rules: objects mirror the source tree under $(BUILD)/obj.
$(BUILD)/obj/%.o: %.c | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/.deps-ok: mk/deps.sh
	$(Q)sh mk/deps.sh
	@mkdir -p $(BUILD) && touch $@

test: all check-layers
	$(Q)sh tests/run.sh $(BUILD) "$(UNIT_TESTS)" "$(TEST_SCRIPTS)"

# ASan+UBSan (build-asan) and TSan (build-tsan) builds and runs: tests/sanitize.sh.
check-sanitize: $(BUILD)/.deps-ok
	$(Q)sh tests/sanitize.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
