# tests/gpu/: the real-GPU proof kit (tests/gpu/run.sh, README.md there).
# Its programs build everywhere, so `make` keeps them compiling: the driver
# API program links the toolkit's stub libcuda.so (the real one is the
# driver's, found at run time), static_rt is built the way nvcc builds by
# default (runtime linked statically). They run only where a GPU is.
GPU_KIT_DIR   := $(BUILD)/gpu
GPU_KIT_PROGS := $(GPU_KIT_DIR)/gpu_codec_check $(GPU_KIT_DIR)/gpu_transfer_bench \
                 $(GPU_KIT_DIR)/static_rt $(GPU_KIT_DIR)/pinned_probe
TEST_SCRIPTS  += tests/gpu/t_gpu_kit_builds.sh

.PHONY: gpu-kit
gpu-kit: $(GPU_KIT_PROGS)
all: $(GPU_KIT_PROGS)

$(GPU_KIT_DIR)/gpu_codec_check: tests/gpu/gpu_codec_check.c tests/gpu/gpu_data.h \
        $(GQ_KERNEL_IMAGE_OBJ) $(GQ_CODEC_LIB) | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CUDAPRG $@")
	$(Q)$(CC) $(CPPFLAGS) -Itests/gpu $(CFLAGS) $< $(GQ_KERNEL_IMAGE_OBJ) $(GQ_CODEC_LIB) -o $@ \
	    -L$(CUDA_LIBDIR)/stubs -lcuda -lm $(LDFLAGS)

$(GPU_KIT_DIR)/gpu_transfer_bench: tests/gpu/gpu_transfer_bench.c tests/gpu/gpu_data.h | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CUDAPRG $@")
	$(Q)$(CC) $(CPPFLAGS) -Itests/gpu $(CFLAGS) $< -o $@ -L$(CUDA_LIBDIR) -lcudart -lm $(LDFLAGS)

$(GPU_KIT_DIR)/static_rt: tests/gpu/static_rt.cu tests/gpu/gpu_data.h | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  NVCC    $@")
	$(Q)$(NVCC) -O2 -Ikernels -Itests/gpu $< -o $@

# How the driver maps pinned memory (the host modes, CUDASIM_PINNED).
$(GPU_KIT_DIR)/pinned_probe: tests/gpu/pinned_probe.c | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CUDAPRG $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ -L$(CUDA_LIBDIR) -lcudart $(LDFLAGS)
