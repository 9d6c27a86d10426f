# examples/: programs a user would recognise, each runnable with and without
# the shim. Plain CUDA programs: real headers, -lcudart, nothing of gqshim.
EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLES     += $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRCS))

$(BUILD)/examples/%: examples/%.c | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CUDAPRG $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ -L$(CUDA_LIBDIR) -lcudart -lm $(LDFLAGS)

demo: all
	$(Q)sh examples/demo.sh $(BUILD)
