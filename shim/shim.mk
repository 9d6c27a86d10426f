# libgqshim.so: the preloaded library. Never linked against libcudart.
SHIM_SRCS := $(wildcard shim/*.c)
SHIM_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(SHIM_SRCS))
LIBGQSHIM := $(BUILD)/libgqshim.so
LIBGQSHIM_DEPS := $(SHIM_OBJS) $(GQ_POLICY_LIB) $(GQ_CODEC_LIB) $(GQ_KERNEL_IMAGE_OBJ)

$(BUILD)/obj/shim/%.o: CFLAGS += -fvisibility=hidden

$(LIBGQSHIM): $(LIBGQSHIM_DEPS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SHLIB   $@")
	$(Q)$(CC) -shared $(CFLAGS) $(SANFLAGS) -Wl,--no-undefined -Wl,-z,defs $(SHIM_OBJS) \
	    $(GQ_KERNEL_IMAGE_OBJ) $(GQ_POLICY_LIB) $(GQ_CODEC_LIB) -ldl -lm $(LDFLAGS) -o $@
