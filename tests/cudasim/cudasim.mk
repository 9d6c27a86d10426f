# cudasim: stand-ins for libcuda.so.1 and libcudart.so.13 that run on the CPU
# (see tests/cudasim/sim.h). One core (sim_*.c) in libcuda.so.1 with the
# driver layer (drv_*.c); libcudart.so.13 (rt_*.c) links libcuda.so.1 and
# calls the same core, so both APIs share one device state.
CUDASIM_CORE_SRCS := $(wildcard tests/cudasim/sim_*.c)
CUDASIM_DRV_SRCS  := $(wildcard tests/cudasim/drv_*.c)
CUDASIM_RT_SRCS   := $(wildcard tests/cudasim/rt_*.c)
CUDASIM_CORE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(CUDASIM_CORE_SRCS))
CUDASIM_DRV_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(CUDASIM_DRV_SRCS))
CUDASIM_RT_OBJS   := $(patsubst %.c,$(BUILD)/obj/%.o,$(CUDASIM_RT_SRCS))

# The SIMT executor (kernels/gq_emu.h): in libcuda.so.1, and as an archive for
# the unit tests that run the kernels' CPU build directly.
SIMT_SRCS := $(wildcard tests/cudasim/simt_*.c)
SIMT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(SIMT_SRCS))
SIMT_LIB  := $(BUILD)/cudasim/libsimt.a
LIBS_STATIC += $(SIMT_LIB)
$(SIMT_OBJS): CFLAGS += -fvisibility=hidden
$(SIMT_LIB): $(SIMT_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

CUDASIM_LIBCUDA   := $(CUDASIM_DIR)/libcuda.so.1
CUDASIM_LIBCUDART := $(CUDASIM_DIR)/libcudart.so.13
CUDASIM_LIBS := $(CUDASIM_LIBCUDA) $(CUDASIM_LIBCUDART) \
                $(CUDASIM_DIR)/libcuda.so $(CUDASIM_DIR)/libcudart.so

# -Bsymbolic-functions: as the real driver, cuGetProcAddress answers libcuda's
# own functions, never a preloaded library's same-named exports (the shim
# must rewrite those answers itself; tests/e2e/t_driver.sh checks it does).
# The kernels' CPU build (kernels/kernels.mk sets GQ_KERNELS_EMU_OBJ once it
# exists); until then cuModuleGetFunction knows only cudasim's test kernels.
$(CUDASIM_LIBCUDA): $(CUDASIM_CORE_OBJS) $(CUDASIM_DRV_OBJS) $(SIMT_OBJS) $(GQ_KERNELS_EMU_OBJ) \
                    tests/cudasim/libcuda.map
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SHLIB   $@")
	$(Q)$(CC) -shared $(CFLAGS) $(SANFLAGS) -Wl,--no-undefined -Wl,-soname,libcuda.so.1 \
	    -Wl,-Bsymbolic-functions -Wl,--version-script=tests/cudasim/libcuda.map $(CUDASIM_CORE_OBJS) $(CUDASIM_DRV_OBJS) $(SIMT_OBJS) \
	    $(GQ_KERNELS_EMU_OBJ) -lm $(LDFLAGS) -o $@

$(CUDASIM_LIBCUDART): $(CUDASIM_RT_OBJS) $(CUDASIM_LIBCUDA) tests/cudasim/libcudart.map
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SHLIB   $@")
	$(Q)$(CC) -shared $(CFLAGS) $(SANFLAGS) -Wl,--no-undefined -Wl,-soname,libcudart.so.13 \
	    -Wl,--version-script=tests/cudasim/libcudart.map $(CUDASIM_RT_OBJS) \
	    -L$(CUDASIM_DIR) -l:libcuda.so.1 -Wl,-rpath,'$$ORIGIN' $(LDFLAGS) -o $@

$(CUDASIM_DIR)/libcuda.so: $(CUDASIM_LIBCUDA)
	$(Q)ln -sf libcuda.so.1 $@
$(CUDASIM_DIR)/libcudart.so: $(CUDASIM_LIBCUDART)
	$(Q)ln -sf libcudart.so.13 $@

# cudasim's own test programs: plain CUDA programs compiled against the real
# headers and linked against the real toolkit's libraries (cudasim at run
# time). A name ending in _drv links -lcuda as well; _ptds builds with the
# per-thread default stream; _export exports its functions (-rdynamic).
CUDASIM_TEST_SRCS  := $(wildcard tests/cudasim/prog/*.c)
CUDASIM_TEST_PROGS := $(patsubst tests/cudasim/prog/%.c,$(BUILD)/cudasim/prog/%,$(CUDASIM_TEST_SRCS))
E2E_PROGS    += $(CUDASIM_TEST_PROGS)
TEST_SCRIPTS += $(sort $(wildcard tests/cudasim/t_*.sh))

CUDASIM_PROG_HDRS := tests/cudasim/prog/check.h tests/cudasim/cudasim_testkern.h

$(BUILD)/cudasim/prog/%: tests/cudasim/prog/%.c $(CUDASIM_PROG_HDRS) | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CUDAPRG $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) \
	    $(if $(findstring _ptds,$*),-DCUDA_API_PER_THREAD_DEFAULT_STREAM) \
	    $(if $(findstring _export,$*),-rdynamic) \
	    $< -o $@ -L$(CUDA_LIBDIR) -lcudart $(if $(findstring _drv,$*),-L$(CUDA_LIBDIR)/stubs -lcuda) \
	    -lm $(LDFLAGS)
