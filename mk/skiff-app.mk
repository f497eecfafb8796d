# skiff-app.mk - build Skiff node programs with make, outside Skiff's tree.
#
# make install puts this file in $(PREFIX)/share/skiff/. Include it, and
# make's built-in rules compile and link node programs:
#
#   include /usr/local/share/skiff/skiff-app.mk
#   all: my_app
#   my_app: my_app.o util.o
#
# It asks skiffcc for the flags and adds them to CPPFLAGS (compiling) and
# LDLIBS (linking, after the objects). Set SKIFF_SHLIB=no to link the
# static archives, SKIFFCC to use another skiffcc. The flags are also in
# SKIFF_CPPFLAGS and SKIFF_LDLIBS for rules of your own; set
# SKIFF_APP_DEFAULTS=no to keep CPPFLAGS and LDLIBS as they are.

SKIFF_APP_MK := $(lastword $(MAKEFILE_LIST))
# The installed copy sets SKIFFCC above; in Skiff's source tree, the build
# tree's skiffcc; else the one on PATH.
SKIFFCC ?= $(or $(wildcard $(dir $(SKIFF_APP_MK))../build/bin/skiffcc),skiffcc)
SKIFF_SHLIB ?= yes
SKIFF_APP_DEFAULTS ?= yes

ifeq ($(filter yes no,$(SKIFF_SHLIB)),)
$(error skiff-app.mk: SKIFF_SHLIB must be yes or no, not '$(SKIFF_SHLIB)')
endif
SKIFF_CPPFLAGS := $(shell $(SKIFFCC) --showme:compile)
SKIFF_LDLIBS := $(shell $(SKIFFCC) \
	$(if $(filter no,$(SKIFF_SHLIB)),-noshlib) --showme:link)
ifeq ($(and $(SKIFF_CPPFLAGS),$(SKIFF_LDLIBS)),)
$(error skiff-app.mk: '$(SKIFFCC) --showme' failed; set SKIFFCC to the skiffcc of your Skiff installation)
endif

ifeq ($(SKIFF_APP_DEFAULTS),yes)
CPPFLAGS += $(SKIFF_CPPFLAGS)
LDLIBS += $(SKIFF_LDLIBS)
endif
