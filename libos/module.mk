# libos: the node runtime (boot, arena, event loop, console/file shim, seal).
# Layers above include libos/include (and verbs/include) only.

LIBOS_SRC := libos/loop.c libos/arena.c libos/chan.c libos/hostproto.c \
             libos/hostmap.c \
             libos/node.c libos/boot.c libos/peer.c libos/console.c \
             libos/file.c libos/fmem.c libos/seal.c libos/config.c
LIBOS_OBJ := $(LIBOS_SRC:%.c=$(BUILD)/%.o)
LIBOS     := $(BUILD)/lib/libskiff_os.a
ALL       += $(LIBOS)

$(LIBOS_OBJ): CPPFLAGS += -Ilibos/include -Ilibos/internal

$(LIBOS): $(LIBOS_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# How an application becomes a node: its entry passes through libos.
SKIFF_APP_LDFLAGS := -Wl,--wrap=main
# With a shared libskiff_os the application also exports main, which the
# library calls (see mk/install.mk): a symbol lookup error at start without.
SKIFF_APP_SHLIB_LDFLAGS := -Wl,--export-dynamic-symbol=main
SKIFF_APP_LIBS     = $(LIBOS) $(LIBVERBS) $(VERBS_LIBS)

# The node program of the end-to-end tests.
NODE_APPS := $(BUILD)/tests/node_app
ALL       += $(NODE_APPS)
$(BUILD)/tests/libos/node_app.o: CPPFLAGS += -Ilibos/include -Ilibos/internal
$(BUILD)/tests/node_app: $(BUILD)/tests/libos/node_app.o $(LIBOS) $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(SKIFF_APP_LDFLAGS) -o $@ $(filter %.o %.a,$^) \
		$(VERBS_LIBS)
