# Skiff as an installed library: the version, shared libraries beside the
# static ones, skiffcc and skiff.pc, `make install` and `make uninstall`.
#
#   make install   [PREFIX=/usr/local] [DESTDIR=] [BINDIR=] [LIBDIR=]
#                  [INCLUDEDIR=] [DATADIR=] [MANDIR=]
#   make uninstall (the same variables)
#
# The work is done by mk/install.sh, which gets every value through the
# environment, so no path is ever re-parsed by a shell or by sed.

# ---- the version, read from the one place it is set ----
SKIFF_VERSION_H := verbs/include/skiff/version.h
skiff_version_part = $(shell sed -n \
	's/^.define SKIFF_VERSION_$(1)[[:space:]]\{1,\}\([0-9]\{1,\}\)$$/\1/p' \
	$(SKIFF_VERSION_H))
SKIFF_VERSION_MAJOR := $(call skiff_version_part,MAJOR)
SKIFF_VERSION_MINOR := $(call skiff_version_part,MINOR)
SKIFF_VERSION_PATCH := $(call skiff_version_part,PATCH)
ifneq ($(words $(SKIFF_VERSION_MAJOR) $(SKIFF_VERSION_MINOR) \
	$(SKIFF_VERSION_PATCH)),3)
$(error $(SKIFF_VERSION_H): cannot read SKIFF_VERSION_MAJOR/MINOR/PATCH)
endif
SKIFF_VERSION := $(SKIFF_VERSION_MAJOR).$(SKIFF_VERSION_MINOR).$(SKIFF_VERSION_PATCH)

# ---- shared libraries ----
# Built from a second set of objects, compiled -fPIC, in $(BUILD)/pic/: the
# static archives (what skrun, the tests and the benchmarks link) keep
# their objects as they were. libskiff_X.so.MAJOR.MINOR.PATCH has the
# soname libskiff_X.so.MAJOR; both links sit beside it.
PIC := $(BUILD)/pic

$(PIC)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (pic)")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -c -o $@ $<

$(PIC)/libos/%.o: CPPFLAGS += -Ilibos/include -Ilibos/internal
$(PIC)/rpc/%.o: CPPFLAGS += -Irpc/include -Ilibos/include
$(PIC)/kv/%.o: CPPFLAGS += -Ikv/include -Irpc/include -Ilibos/include

SHLIB_VERBS := $(BUILD)/lib/libskiff_verbs.so.$(SKIFF_VERSION)
SHLIB_OS    := $(BUILD)/lib/libskiff_os.so.$(SKIFF_VERSION)
SHLIB_RPC   := $(BUILD)/lib/libskiff_rpc.so.$(SKIFF_VERSION)
SHLIB_KV    := $(BUILD)/lib/libskiff_kv.so.$(SKIFF_VERSION)
SHLIBS      := $(SHLIB_VERBS) $(SHLIB_OS) $(SHLIB_RPC) $(SHLIB_KV)

# Each library sets all three variables: target-specific values would
# otherwise pass down to the libraries it depends on. Every library finds
# the ones it needs beside itself ($ORIGIN): a program's RUNPATH covers
# only the libraries it loads directly, and the linker drops from those
# the ones it does not call (hello needs libskiff_os, which needs
# libskiff_verbs).
SHLIB_RPATH := -Wl,-rpath,'$$ORIGIN'
$(SHLIB_VERBS): $(VERBS_SRC:%.c=$(PIC)/%.o)
$(SHLIB_VERBS): SHLIB_LDFLAGS := -Wl,-z,defs
$(SHLIB_VERBS): SHLIB_LIBS := $(VERBS_LIBS) -lm
# libos calls the application's main (as __real_main, boot.c): linked with
# --wrap=main, that reference becomes one to "main", which the
# application exports (SKIFF_APP_SHLIB_LDFLAGS). So no -z defs here.
$(SHLIB_OS): $(LIBOS_SRC:%.c=$(PIC)/%.o) $(SHLIB_VERBS)
$(SHLIB_OS): SHLIB_LDFLAGS := $(SKIFF_APP_LDFLAGS)
$(SHLIB_OS): SHLIB_LIBS := $(VERBS_LIBS)
$(SHLIB_RPC): $(RPC_SRC:%.c=$(PIC)/%.o) $(SHLIB_OS) $(SHLIB_VERBS)
$(SHLIB_RPC): SHLIB_LDFLAGS := -Wl,-z,defs
$(SHLIB_RPC): SHLIB_LIBS := $(VERBS_LIBS)
$(SHLIB_KV): $(KV_LIB_SRC:%.c=$(PIC)/%.o) $(SHLIB_RPC) $(SHLIB_OS) \
	$(SHLIB_VERBS)
$(SHLIB_KV): SHLIB_LDFLAGS := -Wl,-z,defs
$(SHLIB_KV): SHLIB_LIBS := $(VERBS_LIBS)

shlib_soname = $(patsubst %.$(SKIFF_VERSION),%.$(SKIFF_VERSION_MAJOR),$(notdir $(1)))

$(SHLIBS): mk/install.mk
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared $(LDFLAGS) $(SHLIB_LDFLAGS) $(SHLIB_RPATH) \
		-Wl,-soname,$(call shlib_soname,$@) -o $@ \
		$(filter %.o %.so.$(SKIFF_VERSION),$^) $(SHLIB_LIBS)
	$(Q)ln -sf $(notdir $@) $(dir $@)$(call shlib_soname,$@)
	$(Q)ln -sf $(call shlib_soname,$@) \
		$(dir $@)$(basename $(basename $(basename $(notdir $@))))

# Sanitizer builds are for the tests; only the normal build makes shared
# libraries (a sanitizer's runtime is not something to install).
ifeq ($(SANITIZER),)
ALL += $(SHLIBS)
endif

# ---- skiffcc and skiff.pc ----
# What mk/install.sh writes into skiffcc (mk/skiffcc.in) and skiff.pc
# (mk/skiff.pc.in), besides the paths.
SKIFF_LIBS         := -lskiff_kv -lskiff_rpc -lskiff_os -lskiff_verbs
SKIFF_LIBS_PRIVATE := $(VERBS_LIBS) -lm
install_env = \
	SKIFF_VERSION='$(SKIFF_VERSION)' \
	SKIFF_VERSION_MAJOR='$(SKIFF_VERSION_MAJOR)' \
	SKIFF_APP_LDFLAGS='$(SKIFF_APP_LDFLAGS)' \
	SKIFF_APP_SHLIB_LDFLAGS='$(SKIFF_APP_SHLIB_LDFLAGS)' \
	SKIFF_LIBS='$(SKIFF_LIBS)' \
	SKIFF_LIBS_PRIVATE='$(SKIFF_LIBS_PRIVATE)' \
	BUILD='$(BUILD)'

# A skiffcc for the build tree: the source tree's headers and
# $(BUILD)/lib, so examples can be tried with it before installing.
SKIFFCC_BUILD := $(BUILD)/bin/skiffcc
ifeq ($(SANITIZER),)
ALL += $(SKIFFCC_BUILD)
endif
$(SKIFFCC_BUILD): mk/skiffcc.in mk/install.sh mk/install.mk \
	libos/module.mk $(SKIFF_VERSION_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$(install_env) ./mk/install.sh build-skiffcc

# ---- install, uninstall ----
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man

install uninstall: export SKIFF_PREFIX := $(PREFIX)
install uninstall: export SKIFF_DESTDIR := $(DESTDIR)
install uninstall: export SKIFF_BINDIR := $(BINDIR)
install uninstall: export SKIFF_LIBDIR := $(LIBDIR)
install uninstall: export SKIFF_INCLUDEDIR := $(INCLUDEDIR)
install uninstall: export SKIFF_DATADIR := $(DATADIR)
install uninstall: export SKIFF_MANDIR := $(MANDIR)

.PHONY: install uninstall
install: $(LIBVERBS) $(LIBOS) $(LIBRPC) $(LIBKV) $(SHLIBS) $(BUILD)/bin/skrun \
	$(BUILD)/bin/skinfo $(BUILD)/bin/skcached $(BUILD)/bin/skcached-node
	$(Q)$(install_env) ./mk/install.sh install

uninstall:
	$(Q)$(install_env) ./mk/install.sh uninstall
