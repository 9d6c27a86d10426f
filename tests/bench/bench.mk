# Benchmarks: built by `make bench`, never run by `make test` (timings are not tests).
BENCHES += $(BUILD)/bench/bench_codec

bench: $(BENCHES)

$(BUILD)/bench/bench_codec: $(BUILD)/obj/tests/bench/bench_codec.o $(GQ_CODEC_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $^ -lm $(LDFLAGS) -o $@
