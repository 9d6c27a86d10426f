# policy/: the GQSHIM_* option table, the rule grammar and rule matching.
# Pure C, no CUDA: built into build/policy/libgqpolicy.a, linked into
# libgqshim.so and into every unit test (through LIBS_STATIC).
POLICY_SRCS := policy/gq_parse.c policy/gq_rules.c policy/gq_options.c policy/gq_options_text.c \
               policy/gq_path.c
POLICY_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(POLICY_SRCS))
GQ_POLICY_LIB := $(BUILD)/policy/libgqpolicy.a
LIBS_STATIC += $(GQ_POLICY_LIB)

# Linked into the preloaded library: nothing of policy/ is exported from it.
$(POLICY_OBJS): CFLAGS += -fvisibility=hidden

$(GQ_POLICY_LIB): $(POLICY_OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# Prints the option table as Markdown, so a test can hold README.md to it.
GQ_OPTIONS_MD := $(BUILD)/gq-options-md
all: $(GQ_OPTIONS_MD)

$(GQ_OPTIONS_MD): $(BUILD)/obj/policy/gq_options_md.o $(GQ_POLICY_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $^ $(LDFLAGS) -o $@
