# gqrun: the wrapper that runs a program under libgqshim.so. A plain
# executable: the option table (policy archive) and nothing of CUDA.
GQRUN := $(BUILD)/gqrun
all: $(GQRUN)

$(GQRUN): $(BUILD)/obj/shim/gqrun/gqrun.o $(GQ_POLICY_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $^ $(LDFLAGS) -o $@
