# Fuzz targets (libFuzzer, clang -fsanitize=fuzzer,address,undefined), each
# holding one property. `make fuzz` runs each for FUZZ_SECONDS; CI runs a
# short round through tests/fuzz/t_fuzz_short.sh. Without clang's fuzzer
# runtime nothing is built and the script says so.
FUZZ_SECONDS ?= 60
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_RT      := $(wildcard $(shell $(CLANG) -print-resource-dir 2>/dev/null)/lib/linux/libclang_rt.fuzzer-x86_64.a)
FUZZ_CFLAGS  := -O1 -g -std=gnu11 -ffp-contract=off -fno-fast-math -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined $(CPPFLAGS)
# The libraries' sources again (codec, policy), built by clang with the
# sanitizers; every target links them all.
FUZZ_LIB_SRCS := $(CODEC_SRCS) $(POLICY_SRCS)
FUZZ_CODEC_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(FUZZ_LIB_SRCS))
TEST_SCRIPTS += tests/fuzz/t_fuzz_short.sh

ifneq ($(FUZZ_RT),)
all: $(FUZZ_BINS)
endif

$(BUILD)/fuzz/obj/kernels/gq_codec_avx2.o: FUZZ_ISA := -mavx2 -mf16c -mfma
$(BUILD)/fuzz/obj/kernels/gq_codec_avx512.o: FUZZ_ISA := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vbmi \
    -mavx2 -mf16c -mfma
$(BUILD)/fuzz/obj/%.o: %.c | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CLANG   $@")
	$(Q)$(CLANG) $(subst fuzzer$(comma),fuzzer-no-link$(comma),$(FUZZ_CFLAGS)) $(FUZZ_ISA) -MMD -MP -c $< -o $@

comma := ,
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_CODEC_OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZER  $@")
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $< $(FUZZ_CODEC_OBJS) -lm -o $@

fuzz: $(FUZZ_BINS)
	$(Q)set -e; for f in $(FUZZ_BINS); do \
	    mkdir -p $(BUILD)/fuzz/corpus/$$(basename $$f); \
	    echo "  FUZZ    $$f ($(FUZZ_SECONDS) s)"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/ \
	        $(BUILD)/fuzz/corpus/$$(basename $$f) 2>&1 | tail -n 12; \
	done

# Keep the objects between runs, and rebuild them when a header changes.
.SECONDARY: $(FUZZ_CODEC_OBJS)
-include $(FUZZ_CODEC_OBJS:.o=.d)
