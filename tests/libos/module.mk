# tests/libos: unit tests of the event loop, and unit tests and fuzz
# targets of libos's wire checkers.
#
# test_hostproto covers sk_hmsg_parse (libos/hostproto.c) and the bootstrap
# hello checker sk_boot_hello_parse (launcher/bootsrv.c). bootsrv.o is the
# real object; libos and verbs resolve what it calls, and tests/lib's
# stand-ins the services.c symbols it never reaches.

TEST_PROGS += $(BUILD)/tests/test_hostproto
$(BUILD)/tests/test_hostproto: $(BUILD)/tests/libos/test_hostproto.o \
	$(BUILD)/tests/lib/bootsrv_standins.o $(BUILD)/launcher/bootsrv.o \
	$(LIBOS) $(LIBVERBS)
$(BUILD)/tests/libos/test_hostproto.o: CPPFLAGS += -Ilibos/include -Ilibos/internal -Ilauncher
$(BUILD)/tests/lib/bootsrv_standins.o: CPPFLAGS += -Ilibos/include -Ilibos/internal -Ilauncher

# test_loop: the event loop's timers and watches at scale and under
# callbacks, without a device.
TEST_PROGS += $(BUILD)/tests/test_loop
$(BUILD)/tests/test_loop: $(BUILD)/tests/libos/test_loop.o $(LIBOS) $(LIBVERBS)
# It includes libos/loop_priv.h (the deadlines the loop computed).
$(BUILD)/tests/libos/test_loop.o: CPPFLAGS += -Ilibos/include -Ilibos

# test_arena: regions and pools against a real second process that writes
# over every byte a key covers (tests/lib's peer), on SKIFF_PROVIDER.
TEST_PROGS += $(BUILD)/tests/test_arena
$(BUILD)/tests/test_arena: $(BUILD)/tests/libos/test_arena.o \
	$(BUILD)/tests/lib/sk_test_peer.o $(LIBOS) $(LIBVERBS)
# It includes libos/arena_priv.h (the region a pool's objects are in).
$(BUILD)/tests/libos/test_arena.o: CPPFLAGS += -Ilibos/include -Ilibos

# The fuzz target compiles the two checkers' sources only (no verbs, no
# UCX); its own stand-ins cover what bootsrv.c's other functions call.
HOSTMSG_FUZZ_SRC := libos/hostproto.c launcher/bootsrv.c verbs/status.c \
                    tests/lib/bootsrv_standins.c

FUZZ_TARGETS += $(FUZZ_BUILD)/fuzz_hostmsg
$(FUZZ_BUILD)/fuzz_hostmsg: tests/fuzz/fuzz_hostmsg.c $(HOSTMSG_FUZZ_SRC) \
	libos/internal/skiff/hostproto.h launcher/job.h $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -Ilibos/include -Ilibos/internal -Ilauncher -o $@ \
		tests/fuzz/fuzz_hostmsg.c $(HOSTMSG_FUZZ_SRC)

# The node's reader of BOOT's area descriptor (libos/hostmap.c), on a
# real memory file the target makes.
FUZZ_TARGETS += $(FUZZ_BUILD)/fuzz_hmap
$(FUZZ_BUILD)/fuzz_hmap: tests/fuzz/fuzz_hmap.c libos/hostmap.c \
	libos/internal/skiff/hostproto.h $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -Ilibos/include -Ilibos/internal -o $@ \
		tests/fuzz/fuzz_hmap.c libos/hostmap.c
