# libgqshim.so: the preloaded library. Never linked against libcudart.
# The exported hooks (gq_hooks_*.c) are thin; everything else is the core
# archive, which unit tests link directly without any preloading.
SHIM_SRCS      := $(wildcard shim/*.c)
SHIM_HOOK_SRCS := $(wildcard shim/gq_hooks_*.c)
SHIM_CORE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out $(SHIM_HOOK_SRCS),$(SHIM_SRCS)))
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
