# libgqshim.so: the preloaded library. Never linked against libcudart.
# One folder per layer (shim/README.md); entry/ (the exported hooks and
# start-up) goes into the library directly, every layer below it into the
# core archive, which unit tests link without any preloading.
SHIM_LAYERS    := base gpu host store xfer core
SHIM_CORE_SRCS := $(foreach l,$(SHIM_LAYERS),$(wildcard shim/$(l)/*.c))
SHIM_HOOK_SRCS := $(wildcard shim/entry/*.c)
SHIM_CORE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(SHIM_CORE_SRCS))
SHIM_HOOK_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(SHIM_HOOK_SRCS))
GQ_SHIM_CORE_LIB := $(BUILD)/shim/libgqshim_core.a
LIBS_STATIC    += $(GQ_SHIM_CORE_LIB)
LIBGQSHIM      := $(BUILD)/libgqshim.so

$(BUILD)/obj/shim/%.o: CFLAGS += -fvisibility=hidden

$(GQ_SHIM_CORE_LIB): $(SHIM_CORE_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBGQSHIM): $(SHIM_HOOK_OBJS) $(GQ_SHIM_CORE_LIB) $(GQ_POLICY_LIB) $(GQ_CODEC_LIB) $(GQ_KERNEL_IMAGE_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SHLIB   $@")
	$(Q)$(CC) -shared $(CFLAGS) $(SANFLAGS) -Wl,--no-undefined -Wl,-z,defs $(SHIM_HOOK_OBJS) \
	    $(GQ_KERNEL_IMAGE_OBJ) -Wl,--start-group $(GQ_SHIM_CORE_LIB) $(GQ_POLICY_LIB) \
	    $(GQ_CODEC_LIB) -Wl,--end-group -ldl -lm $(LDFLAGS) -o $@

# No layer calls a layer above it, gpu/ and host/ never call each other, and
# no two files call each other in a circle: checked on the objects' symbols.
check-layers: $(SHIM_CORE_OBJS) $(SHIM_HOOK_OBJS)
	$(Q)sh shim/check-layers.sh $(BUILD)/obj/shim
.PHONY: check-layers
