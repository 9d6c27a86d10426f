# gqrun: the wrapper that runs a program under libgqshim.so. A plain
# executable: the option table (policy archive) and nothing of CUDA; for
# --check, the library's host-mode probe (self-contained: libc only).
GQRUN := $(BUILD)/gqrun
all: $(GQRUN)

$(GQRUN): $(BUILD)/obj/shim/gqrun/gqrun.o $(BUILD)/obj/shim/host/gq_probe.o \
          $(BUILD)/obj/shim/base/gq_mode.o $(GQ_POLICY_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $^ $(LDFLAGS) -o $@
