# kernels/: the codec. Three products:
#   GQ_CODEC_LIB          CPU codec (scalar + AVX2 + AVX-512, picked at run time),
#                         PIC objects for libgqshim.so and every unit test
#   GQ_KERNEL_IMAGE_OBJ   the CUDA kernels as a fatbin (SASS sm_80, sm_90 + PTX
#                         compute_90), embedded as gq_kernel_image[] (gq_kernels.h)
#   GQ_KERNELS_EMU_OBJ    the same kernels compiled as C for cudasim (gq_emu.h)
CODEC_SRCS := kernels/gq_codec.c kernels/gq_codec_avx2.c kernels/gq_codec_avx512.c kernels/gq_codec_mt.c \
              kernels/gq_kernels_host.c
CODEC_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(CODEC_SRCS))
GQ_CODEC_LIB := $(BUILD)/kernels/libgqcodec.a
LIBS_STATIC += $(GQ_CODEC_LIB)

$(CODEC_OBJS): CFLAGS += -O3 -fvisibility=hidden
# Only the SIMD files get the ISA flags; their code runs after a cpuid check.
$(BUILD)/obj/kernels/gq_codec_avx2.o: CFLAGS += -mavx2 -mf16c -mfma
$(BUILD)/obj/kernels/gq_codec_avx512.o: CFLAGS += -mavx512f -mavx512bw -mavx512vl -mavx512dq \
    -mavx512vbmi -mavx2 -mf16c -mfma

$(GQ_CODEC_LIB): $(CODEC_OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# ---- CUDA: nvcc -> fatbin -> object ------------------------------------------
KERNEL_HDRS := kernels/gq_hd.h kernels/gq_half.h kernels/gq_format.h kernels/gq_group.h \
               kernels/gq_kernels.h kernels/gq_cuda_compat.h kernels/gq_emu.h kernels/gq_dev.h \
               kernels/gq_tile.h kernels/gq_fast.h kernels/gq_tile0.h kernels/gq_dtype.h
NVCCFLAGS ?= -O3
# override: `make NVCCFLAGS=...` on the command line must not drop -fmad=false.
override NVCCFLAGS += -fmad=false -prec-div=true -prec-sqrt=true -ftz=false -Ikernels \
             -gencode arch=compute_80,code=sm_80 \
             -gencode arch=compute_90,code=[sm_90,compute_90]
GQ_FATBIN := $(BUILD)/kernels/gq_kernels.fatbin
GQ_KERNEL_IMAGE_OBJ := $(BUILD)/kernels/gq_kernel_image.o

$(GQ_FATBIN): kernels/gq_kernels.cu $(KERNEL_HDRS) | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  NVCC    $@")
	$(Q)$(NVCC) $(NVCCFLAGS) -fatbin $< -o $@

# .incbin keeps the image's bytes as they are; the symbols are hidden so the
# shim links them without exporting them.
$(GQ_KERNEL_IMAGE_OBJ): kernels/gq_kernel_image.S $(GQ_FATBIN)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $@")
	$(Q)$(CC) -c -DGQ_FATBIN_PATH='"$(GQ_FATBIN)"' $< -o $@

# ---- the same kernels as C, for cudasim ---------------------------------------
GQ_KERNELS_EMU_OBJ := $(BUILD)/kernels/gq_kernels_emu.o
$(GQ_KERNELS_EMU_OBJ): kernels/gq_kernels.cu $(KERNEL_HDRS) | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-EMU  $@")
	$(Q)$(CC) -x c -DGQ_EMU $(CPPFLAGS) $(CFLAGS) -O2 -fvisibility=hidden $(SANFLAGS) -c $< -o $@

all: $(GQ_CODEC_LIB) $(GQ_KERNEL_IMAGE_OBJ) $(GQ_KERNELS_EMU_OBJ)

# Unit tests drive the emulated kernels directly (tests/unit/test_codec_emu.c);
# an archive, so programs that do not call them do not pull them in.
GQ_KERNELS_EMU_LIB := $(BUILD)/kernels/libgqkernels_emu.a
LIBS_STATIC += $(GQ_KERNELS_EMU_LIB)
$(GQ_KERNELS_EMU_LIB): $(GQ_KERNELS_EMU_OBJ)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
