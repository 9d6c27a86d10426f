# Benchmarks: built by `make bench`, never run by `make test` (timings are not tests).
BENCHES += $(BUILD)/bench/bench_codec

bench: $(BENCHES)

$(BUILD)/bench/bench_codec: $(BUILD)/obj/tests/bench/bench_codec.o $(GQ_CODEC_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $^ -lm $(LDFLAGS) -o $@

# bench_gpu_model: the shim's offload and restore against a plain copy, on
# cudasim's memory-transaction model (CUDASIM_PROFILE); gpu_model_prog is the
# CUDA program it runs, built like the e2e programs.
BENCHES += $(BUILD)/bench/bench_gpu_model $(BUILD)/bench/gpu_model_prog
bench: $(BUILD)/bench/bench_gpu_model $(BUILD)/bench/gpu_model_prog

$(BUILD)/bench/gpu_model_prog: tests/bench/gpu_model_prog.c kernels/gq_half.h | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CUDAPRG $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) $< -o $@ -L$(CUDA_LIBDIR) -lcudart -lm $(LDFLAGS)

$(BUILD)/bench/bench_gpu_model: $(BUILD)/obj/tests/bench/bench_gpu_model.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $^ -lm $(LDFLAGS) -o $@

# `make bench` also runs the model (about a minute at its default 64 MiB).
.PHONY: bench-gpu-model
bench: bench-gpu-model
bench-gpu-model: $(BUILD)/bench/bench_gpu_model $(BUILD)/bench/gpu_model_prog $(LIBGQSHIM) $(CUDASIM_LIBS)
	$(Q)BUILD=$(BUILD) $(BUILD)/bench/bench_gpu_model
