# examples: node programs a user would copy. Every examples/*.c is one
# program, built into $(BUILD)/examples/ against the static libraries;
# tests/examples/check.sh runs them under skrun (the install step of
# make check builds and runs them out of the tree as well).

EXAMPLE_SRC   := $(wildcard examples/*.c)
EXAMPLE_PROGS := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)
ALL           += $(EXAMPLE_PROGS)

$(EXAMPLE_SRC:%.c=$(BUILD)/%.o): CPPFLAGS += -Ilibos/include -Irpc/include \
	-Ikv/include

# libskiff_kv first: a static archive only gives the programs that use
# it (kv_*.c) what they call, and kv calls rpc.
$(EXAMPLE_PROGS): $(BUILD)/examples/%: $(BUILD)/examples/%.o $(LIBKV) \
	$(LIBRPC) $(LIBOS) $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(SKIFF_APP_LDFLAGS) -o $@ $(filter %.o %.a,$^) \
		$(VERBS_LIBS)
