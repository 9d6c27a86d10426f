# Unit tests: each tests/unit/test_*.c is one cmocka binary linked with the
# library's archives (no preloading, no CUDA). A folder that owns a test adds
# its extra objects with TEST_DEPS_<name>.
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_TESTS += $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(LIBS_STATIC)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $< -Wl,--start-group $(LIBS_STATIC) -Wl,--end-group -lcmocka -lm -ldl $(LDFLAGS) -o $@

# End-to-end programs: plain CUDA programs, unaware of the shim, compiled
# against the real headers and linked with -lcudart (cudasim at run time).
E2E_SRCS  := $(wildcard tests/e2e/*.c)
E2E_PROGS += $(patsubst tests/e2e/%.c,$(BUILD)/e2e/%,$(E2E_SRCS))
TEST_SCRIPTS += $(sort $(wildcard tests/e2e/t_*.sh))

$(BUILD)/e2e/%: tests/e2e/%.c tests/e2e/e2e.h $(GQ_CODEC_LIB) | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CUDAPRG $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) $< $(GQ_CODEC_LIB) -o $@ -L$(CUDA_LIBDIR) -lcudart -lm -pthread $(LDFLAGS)
TEST_SCRIPTS += tests/t_readme.sh
TEST_SCRIPTS += tests/t_install.sh
