# The shim's benchmarks: bench_passthrough (with its do-nothing runtime), bench_hostmem.
BENCH_FAKE_RT := $(BUILD)/bench/fake/libcudart.so.13
BENCHES += $(BUILD)/bench/bench_passthrough $(BENCH_FAKE_RT)

$(BENCH_FAKE_RT): tests/bench/fake_cudart.c tests/bench/fake_cudart.map
	@mkdir -p $(dir $@)
	$(Q)$(CC) -shared $(CPPFLAGS) $(CFLAGS) -fvisibility=hidden -Wl,-soname,libcudart.so.13 \
	    -Wl,--version-script=tests/bench/fake_cudart.map $< -o $@

$(BUILD)/bench/bench_passthrough: tests/bench/bench_passthrough.c | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ -L$(CUDA_LIBDIR) -lcudart $(LDFLAGS)
bench: $(BUILD)/bench/bench_passthrough $(BENCH_FAKE_RT)

BENCHES += $(BUILD)/bench/bench_hostmem
bench: $(BUILD)/bench/bench_hostmem
$(BUILD)/bench/bench_hostmem: tests/bench/bench_hostmem.c | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ -L$(CUDA_LIBDIR) -lcudart $(LDFLAGS)

# The checksum host mode's price (shim/host/gq_wsum.h).
BENCHES += $(BUILD)/bench/bench_wsum
bench: $(BUILD)/bench/bench_wsum
$(BUILD)/bench/bench_wsum: $(BUILD)/obj/tests/bench/bench_wsum.o $(GQ_SHIM_CORE_LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $< $(GQ_SHIM_CORE_LIB) -lpthread $(LDFLAGS) -o $@
