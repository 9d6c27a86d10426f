# Unit tests: each tests/unit/test_*.c is one cmocka binary linked with the
# library's archives (no preloading, no libcudart). A folder that owns a test
# adds its extra objects with TEST_DEPS_<name>.
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_TESTS += $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))

# Tests of modules that reach the driver (gpu/gq_driver.c) load cudasim's
# libcuda.so.1 by path at run time (tests/unit/test_sim_util.h).
UNIT_SIM_TESTS := $(patsubst %,$(BUILD)/tests/unit/%,test_entries test_store test_plan test_ptr)
$(UNIT_SIM_TESTS): | $(CUDASIM_LIBCUDA)

# The kernels' image comes along: the shim's driver code refers to it.
$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(LIBS_STATIC) $(GQ_KERNEL_IMAGE_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $< -Wl,--start-group $(LIBS_STATIC) -Wl,--end-group \
	    $(GQ_KERNEL_IMAGE_OBJ) -lcmocka -lm -ldl $(LDFLAGS) -o $@

# End-to-end programs: plain CUDA programs, unaware of the shim, compiled
# against the real headers and linked with -lcudart (cudasim at run time).
E2E_SRCS  := $(filter-out tests/e2e/drv_%.c,$(wildcard tests/e2e/*.c))
E2E_PROGS += $(patsubst tests/e2e/%.c,$(BUILD)/e2e/%,$(E2E_SRCS))
TEST_SCRIPTS += $(sort $(wildcard tests/e2e/t_*.sh))

$(BUILD)/e2e/%: tests/e2e/%.c tests/e2e/e2e.h tests/e2e/e2e_oracle.h $(GQ_CODEC_LIB) | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CUDAPRG $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) $< $(GQ_CODEC_LIB) -o $@ -L$(CUDA_LIBDIR) -lcudart -lm -pthread $(LDFLAGS)

# Driver-API programs (tests/e2e/drv_*.c): written against cuda.h, linked
# with the toolkit's stub libcuda.so (cudasim's libcuda.so.1 at run time).
E2E_DRV_SRCS := $(wildcard tests/e2e/drv_*.c)
E2E_PROGS    += $(patsubst tests/e2e/%.c,$(BUILD)/e2e/%,$(E2E_DRV_SRCS))

$(BUILD)/e2e/drv_%: tests/e2e/drv_%.c tests/e2e/e2e.h tests/e2e/e2e_oracle.h $(GQ_CODEC_LIB) | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CUDAPRG $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) $< $(GQ_CODEC_LIB) -o $@ -L$(CUDA_LIBDIR)/stubs -lcuda -ldl -lm -pthread $(LDFLAGS)

# A runtime that reaches the driver through cuGetProcAddress, as the real one
# does (tests/e2e/rtdrv/): as a dynamic libcudart.so.13, and linked into
# roundtrip.c as a static runtime is.
RTDRV_SRC := tests/e2e/rtdrv/cudart_via_driver.c
E2E_PROGS += $(BUILD)/e2e/rtdrv/libcudart.so.13 $(BUILD)/e2e/static_roundtrip

$(BUILD)/e2e/rtdrv/libcudart.so.13: $(RTDRV_SRC) tests/e2e/rtdrv/libcudart.map | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SHLIB   $@")
	$(Q)$(CC) -shared $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -Wl,-soname,libcudart.so.13 \
	    -Wl,--version-script=tests/e2e/rtdrv/libcudart.map $< -o $@ -ldl -pthread $(LDFLAGS)

$(BUILD)/e2e/static_roundtrip: tests/e2e/roundtrip.c $(RTDRV_SRC) tests/e2e/e2e.h tests/e2e/e2e_oracle.h $(GQ_CODEC_LIB) | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CUDAPRG $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) tests/e2e/roundtrip.c $(RTDRV_SRC) $(GQ_CODEC_LIB) \
	    -o $@ -ldl -lm -pthread $(LDFLAGS)
TEST_SCRIPTS += tests/t_readme.sh
TEST_SCRIPTS += tests/t_install.sh

# Launchers for the host-mode tests (tests/e2e/t_modes.sh): noufd runs a
# program under a seccomp filter refusing userfaultfd(2).
E2E_PROGS += $(BUILD)/tools/noufd

$(BUILD)/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ $(LDFLAGS)
