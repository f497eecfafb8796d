# launcher: skrun and the host's services.

# skrun's parsers of outside text: unit-tested and fuzzed on their own.
LAUNCHER_OPTS_SRC := launcher/opts.c launcher/hosts.c launcher/place.c \
                     launcher/frame.c \
                     launcher/parse.c launcher/slurm.c

TEST_PROGS += $(BUILD)/tests/test_opts
$(BUILD)/tests/test_opts: $(BUILD)/tests/launcher/test_opts.o \
	$(LAUNCHER_OPTS_SRC:%.c=$(BUILD)/%.o)
$(BUILD)/tests/launcher/test_opts.o: CPPFLAGS += -Ilauncher

FUZZ_TARGETS += $(FUZZ_BUILD)/fuzz_hostfile
$(FUZZ_BUILD)/fuzz_hostfile: tests/fuzz/fuzz_hostfile.c $(LAUNCHER_OPTS_SRC) \
	launcher/opts.h launcher/parse.h $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -Ilauncher -o $@ tests/fuzz/fuzz_hostfile.c \
		$(LAUNCHER_OPTS_SRC)

TEST_PROGS += $(BUILD)/tests/test_slurm
$(BUILD)/tests/test_slurm: $(BUILD)/tests/launcher/test_slurm.o \
	$(LAUNCHER_OPTS_SRC:%.c=$(BUILD)/%.o)
$(BUILD)/tests/launcher/test_slurm.o: CPPFLAGS += -Ilauncher

FUZZ_TARGETS += $(FUZZ_BUILD)/fuzz_slurm
$(FUZZ_BUILD)/fuzz_slurm: tests/fuzz/fuzz_slurm.c $(LAUNCHER_OPTS_SRC) \
	launcher/opts.h launcher/parse.h $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -Ilauncher -o $@ tests/fuzz/fuzz_slurm.c \
		$(LAUNCHER_OPTS_SRC)

FUZZ_TARGETS += $(FUZZ_BUILD)/fuzz_frames
$(FUZZ_BUILD)/fuzz_frames: tests/fuzz/fuzz_frames.c launcher/frame.c \
	launcher/parse.h $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -Ilauncher -o $@ tests/fuzz/fuzz_frames.c \
		launcher/frame.c

TEST_PROGS += $(BUILD)/tests/test_fileq
$(BUILD)/tests/test_fileq: $(BUILD)/tests/launcher/test_fileq.o \
	$(BUILD)/launcher/fileq.o $(LIBOS) $(LIBVERBS)
$(BUILD)/tests/launcher/test_fileq.o: CPPFLAGS += -Ilauncher -Ilibos/include

TEST_PROGS += $(BUILD)/tests/test_fileserv
$(BUILD)/tests/test_fileserv: $(BUILD)/tests/launcher/test_fileserv.o \
	$(BUILD)/launcher/fileserv.o
$(BUILD)/tests/launcher/test_fileserv.o: CPPFLAGS += -Ilauncher -Ilibos/include -Ilibos/internal
$(BUILD)/launcher/%.o: CPPFLAGS += -Ilibos/include -Ilibos/internal

# ---- skrun ----
SKRUN_SRC := launcher/skrun.c launcher/agent.c launcher/jobctl.c \
             launcher/group.c \
             launcher/spawn.c launcher/checks.c launcher/output.c \
             launcher/bootsrv.c launcher/services.c \
             launcher/connect.c launcher/job.c launcher/fileq.c \
             launcher/fileserv.c $(LAUNCHER_OPTS_SRC) launcher/config.c
SKRUN_OBJ := $(SKRUN_SRC:%.c=$(BUILD)/%.o)
ALL       += $(BUILD)/bin/skrun
$(BUILD)/bin/skrun: $(SKRUN_OBJ) $(LIBOS) $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(VERBS_LIBS) -lhwloc \
		-pthread

# The node program of e2e's file-threads check (tests/e2e/jobs.sh).
ALL += $(BUILD)/tests/fifo_app
$(BUILD)/tests/launcher/fifo_app.o: CPPFLAGS += -Ilibos/include
$(BUILD)/tests/fifo_app: $(BUILD)/tests/launcher/fifo_app.o $(LIBOS) $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(SKIFF_APP_LDFLAGS) -o $@ $(filter %.o %.a,$^) \
		$(VERBS_LIBS)

# The node program of e2e's silent-node check.
ALL += $(BUILD)/tests/keystall_app
$(BUILD)/tests/launcher/keystall_app.o: CPPFLAGS += -Ilibos/include -Ilibos/internal
$(BUILD)/tests/keystall_app: $(BUILD)/tests/launcher/keystall_app.o $(LIBOS) \
	$(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(SKIFF_APP_LDFLAGS) -o $@ $(filter %.o %.a,$^) \
		$(VERBS_LIBS)

# e2e's no-openat2 check: skrun with a system call refused (seccomp).
ALL += $(BUILD)/tests/deny_syscall
$(BUILD)/tests/deny_syscall: $(BUILD)/tests/launcher/deny_syscall.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^
