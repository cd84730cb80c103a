# sshenv: see README.md.  `make check` runs every test, plain and under
# AddressSanitizer+UBSan; `make run` shows the thing working; `make bench`
# measures it beside its peers.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/sshenv
SYSTEMDUSERDIR ?= $(PREFIX)/lib/systemd/user
# Where the login files of every shell live, for `make install-all-users`
# (the Debian package's system-wide switch, off until /etc/sshenv.conf
# turns it on).
SYSCONFDIR ?= /etc
FISHVENDORDIR ?= $(PREFIX)/share/fish/vendor_conf.d
# The helpers (sshenv-supervisor, sshenv-agent, sshenv-token) go in
# LIBEXECDIR/sshenv.
# The client looks beside itself, then in ../libexec/sshenv relative to
# itself, then in the LIBEXECDIR compiled in (rtpaths_helper).
LIBEXECDIR ?= $(PREFIX)/libexec
HELPERDIR = $(LIBEXECDIR)/sshenv
CC ?= cc
CFLAGS ?= -O2 -g
PKGS = libuv inih libcrypto

SAN ?= 0
PORTABLE ?= 0
BUILD ?= build
ifeq ($(SAN),1)
override BUILD := $(BUILD)-san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
endif
ifeq ($(PORTABLE),1)
override BUILD := $(BUILD)-portable
PORTFLAGS = -DSSHENV_PORTABLE
endif

# sd-bus (libsystemd) for logind's suspend and lock signals, where it is
# (not in the portable build: Cygwin and the BSDs have no logind).
ifneq ($(PORTABLE),1)
ifeq ($(shell pkg-config --exists libsystemd 2>/dev/null && echo y),y)
PKGS += libsystemd
SDBUS_FLAGS = -DSSHENV_SDBUS
# Its header only: the supervisor dlopen()s it when logind is wanted
# (logind.c says why).  -ldl for a glibc older than 2.34.
SDBUS_LIBS := -ldl
endif
endif
# PKCS#11's definitions are p11-kit's header (no library: modules are
# loaded by path); libfido2 for FIDO keys on USB ("internal" provider),
# where it is (not in the portable build).
P11_CFLAGS := $(shell pkg-config --cflags p11-kit-1 2>/dev/null)
ifneq ($(PORTABLE),1)
ifeq ($(shell pkg-config --exists libfido2 2>/dev/null && echo y),y)
FIDO_FLAGS = -DSSHENV_FIDO2 $(shell pkg-config --cflags libfido2)
FIDO_LIBS := $(shell pkg-config --libs libfido2)
endif
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(P11_CFLAGS)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# A section per function and object, so that the programs' links can drop
# what their modules define and they never call (PROG_LDFLAGS).
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(CPPFLAGS) $(CFLAGS) \
	$(SANFLAGS) $(PORTFLAGS) $(SDBUS_FLAGS) $(FIDO_FLAGS) -Isrc $(PKG_CFLAGS) \
	-ffunction-sections -fdata-sections -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)
LIBS = $(PKG_LIBS) -lpthread
# One program per process, each linking only what it needs: a link error
# below means a module started to need a library its program must not
# load (the client runs at every login: libc and inih only).
CLIENT_LIBS := $(shell pkg-config --libs inih 2>/dev/null)
# The client runs at every login, and here the dynamic loader is a quarter
# of a warm `init` (bench/session.sh: 1.27 -> 0.95 ms median): it is linked
# statically where libc and inih come as archives (static-pie, so its
# addresses are still random).  Not with the sanitizers (ASan cannot link
# so) nor in the portable build; STATIC_CLIENT=no links it dynamically, as
# debian/rules does (a distribution's libc updates reach dynamic programs).
STATIC_CLIENT ?= auto
ifeq ($(STATIC_CLIENT),auto)
override STATIC_CLIENT := no
ifeq ($(SAN)$(PORTABLE),00)
ifneq ($(filter /%,$(shell $(CC) -print-file-name=libc.a 2>/dev/null)),)
ifneq ($(filter /%,$(shell $(CC) -print-file-name=libinih.a 2>/dev/null)),)
override STATIC_CLIENT := yes
endif
endif
endif
endif
ifeq ($(STATIC_CLIENT),yes)
CLIENT_LDFLAGS := -static-pie
endif
SUPERVISOR_LIBS := $(shell pkg-config --libs libuv inih 2>/dev/null) \
	$(SDBUS_LIBS)
AGENT_LIBS := $(shell pkg-config --libs libuv libcrypto 2>/dev/null) -lpthread
# The token helper: one per PKCS#11 module or FIDO provider, which it
# loads (never the agent); no libuv.
TOKEN_LIBS := $(shell pkg-config --libs libcrypto 2>/dev/null) $(FIDO_LIBS)

# A build is its sources and the flags they were compiled with; the
# client and the supervisor refuse helpers of another build (version.h).
BUILD_ID := $(shell cat $(sort $(wildcard src/*.[ch])) | \
	{ cat; echo '$(ALL_CFLAGS)'; } | sha256sum | cut -c1-16)

MAIN_SRCS := src/main.c src/main_agent.c src/main_supervisor.c src/main_token.c
LIB_SRCS := $(filter-out $(MAIN_SRCS),$(wildcard src/*.c))
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
SK_SOFT := $(BUILD)/tools/sk-soft.so
SK_SOFT_CFLAGS := $(shell pkg-config --cflags libcrypto 2>/dev/null)
SK_SOFT_LIBS := $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)

.PHONY: FORCE all check run bench install uninstall clean deps deps-test \
	deps-bench deps-deb unit fuzz fuzz-build check-unit deb install-all-users \
	uninstall-all-users

PROGRAMS = $(BUILD)/sshenv $(BUILD)/sshenv-supervisor $(BUILD)/sshenv-agent \
	$(BUILD)/sshenv-token

all: $(PROGRAMS) $(UNIT_BINS) $(TOOL_BINS) $(BENCH_BINS) $(SK_SOFT)

# Objects follow the flags too: a stamp rewritten only when they change.
$(BUILD)/cflags: FORCE
	@mkdir -p $(@D)
	@echo '$(ALL_CFLAGS) $(LIBEXECDIR) $(STATIC_CLIENT)' | cmp -s - $@ || echo '$(ALL_CFLAGS) $(LIBEXECDIR) $(STATIC_CLIENT)' >$@

$(BUILD)/obj/%.o: src/%.c Makefile $(BUILD)/cflags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Rewritten only when the id changes, so that version.o is rebuilt then.
$(BUILD)/build-id: FORCE
	@mkdir -p $(@D)
	@echo '$(BUILD_ID)' | cmp -s - $@ || echo '$(BUILD_ID)' >$@
$(BUILD)/obj/version.o: $(BUILD)/build-id
$(BUILD)/obj/version.o: ALL_CFLAGS += -DSSHENV_BUILD_ID='"$(BUILD_ID)"'
$(BUILD)/obj/rtpaths.o: ALL_CFLAGS += -DSSHENV_LIBEXECDIR='"$(LIBEXECDIR)"'
FORCE:

$(BUILD)/libsshenv.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

# The archive gives each program only the modules it reaches, and
# --gc-sections only the functions of them it reaches (a module serves
# several processes: the supervisor's text was 15% smaller, and text is
# private memory while one user runs it); --as-needed keeps a library it
# names but never calls out of its image.
PROG_LDFLAGS = $(ALL_LDFLAGS) -Wl,--gc-sections -Wl,--as-needed
$(BUILD)/sshenv: $(BUILD)/obj/main.o $(BUILD)/libsshenv.a
	$(CC) $(PROG_LDFLAGS) $(CLIENT_LDFLAGS) -o $@ $^ $(CLIENT_LIBS)
$(BUILD)/sshenv-supervisor: $(BUILD)/obj/main_supervisor.o $(BUILD)/libsshenv.a
	$(CC) $(PROG_LDFLAGS) -o $@ $^ $(SUPERVISOR_LIBS)
$(BUILD)/sshenv-agent: $(BUILD)/obj/main_agent.o $(BUILD)/libsshenv.a
	$(CC) $(PROG_LDFLAGS) -o $@ $^ $(AGENT_LIBS)
$(BUILD)/sshenv-token: $(BUILD)/obj/main_token.o $(BUILD)/libsshenv.a
	$(CC) $(PROG_LDFLAGS) -o $@ $^ $(TOKEN_LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libsshenv.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(ALL_LDFLAGS) -o $@ $< \
		$(BUILD)/libsshenv.a $(LIBS)

$(BUILD)/tools/%: tests/tools/%.c tests/tools/hex.h $(BUILD)/libsshenv.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libsshenv.a $(LIBS)

# The software security key (tests/sk) that the FIDO suites enroll and
# sign with.  The uninstrumented OpenSSH tools dlopen() it, so it is built
# with fixed plain flags: never SANFLAGS (nor a CFLAGS that might carry
# them), even in the SAN=1 tree.
$(SK_SOFT): tests/sk/sk_soft.c Makefile
	@mkdir -p $(@D)
	$(CC) -O2 -g -fPIC -shared -std=c11 -D_GNU_SOURCE -Wall -Wextra \
		-Werror $(SK_SOFT_CFLAGS) -o $@ $< $(SK_SOFT_LIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libsshenv.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libsshenv.a $(LIBS)

deps:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench
deps-deb:
	@scripts/deps.sh deb

# Every test, with the plain build, then with ASan+UBSan, then with the
# portable fallbacks (no pidfd, getpeereid, no /proc) that Cygwin and the
# BSDs use.
check: deps-test
	$(MAKE) all
	$(MAKE) SAN=1 all
	$(MAKE) PORTABLE=1 all
	$(MAKE) fuzz-build
	tests/run.sh $(BUILD) $(BUILD)-san $(BUILD)-portable

# libFuzzer harnesses (clang), in their own tree: every library object is
# built with coverage instrumentation.  `make fuzz FUZZ_SECS=N` runs each
# for N seconds on a scratch copy of its seed corpus; the test suite runs
# a short smoke of each (tests/shell/test_fuzz.sh).
FUZZ_SECS ?= 60
FUZZ_CC ?= clang
FUZZ_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -g -O1
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)
FUZZ_OBJS := $(LIB_SRCS:src/%.c=build-fuzz/obj/%.o)

build-fuzz/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(FUZZ_FLAGS) \
		-fsanitize=fuzzer-no-link -Isrc $(PKG_CFLAGS) \
		-DSSHENV_BUILD_ID='"fuzz"' -c -o $@ $<

build-fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(FUZZ_FLAGS) \
		-fsanitize=fuzzer -Isrc $(PKG_CFLAGS) -o $@ $< $(FUZZ_OBJS) \
		$(FUZZ_LDFLAGS) $(LIBS)

# fuzz_agent remembers key imports and signature checks by their bytes
# (tests/fuzz/fuzz_agent.c says why).
build-fuzz/fuzz_agent: FUZZ_LDFLAGS = -Wl,--wrap=crypto_key_parse \
	-Wl,--wrap=crypto_verify

fuzz-build: $(FUZZ_BINS)

fuzz: deps-test fuzz-build
	FUZZ_SECS=$(FUZZ_SECS) tests/fuzz/run.sh

# Only the plain build; TESTS=pattern picks suites.
unit: deps-test
	$(MAKE) all
	tests/run.sh $(BUILD)

# The unit tests alone, with no package installed, no root and no
# network: what the Debian package runs at build time.
check-unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do $$t >$$t.log 2>&1 || \
		{ cat $$t.log; echo "FAIL $$t"; exit 1; }; \
		tail -n 1 $$t.log | sed "s|^|$$(basename $$t): |"; done

# The Debian package, built from a copy of the tree (dpkg-buildpackage
# writes beside the source): the .deb lands in DEBDIR.
DEBDIR ?= build/deb
deb: deps-deb
	rm -rf '$(DEBDIR)' && mkdir -p '$(DEBDIR)/src'
	tar -cf - --exclude='./build*' --exclude=./.git . | \
		tar -xf - -C '$(DEBDIR)/src'
	cd '$(DEBDIR)/src' && dpkg-buildpackage -us -uc -b
	rm -rf '$(DEBDIR)/src'
	ls '$(DEBDIR)'/*.deb

run: deps
	$(MAKE) all
	scripts/run.sh $(BUILD)/sshenv

bench: deps-bench
	$(MAKE) all
	bench/run.sh $(BUILD)

# What install puts where, so that uninstall removes exactly that.
# SSHENV_BINARY names the client to install, its helpers taken from the
# same directory (the tests pass the build they test, say a sanitizer
# build's, without rebuilding anything).
SSHENV_BINARY ?= $(BUILD)/sshenv
SSHENV_HELPERS = $(addprefix $(dir $(SSHENV_BINARY)),sshenv-supervisor \
	sshenv-agent sshenv-token)
INST_SNIPPETS := $(notdir $(wildcard shell/*))
INST_FILES = $(BINDIR)/sshenv $(HELPERDIR)/sshenv-supervisor \
	$(HELPERDIR)/sshenv-agent $(HELPERDIR)/sshenv-token \
	$(MANDIR)/man1/sshenv.1 \
	$(MANDIR)/man5/sshenv.conf.5 $(DATADIR)/sshenv.conf \
	$(INST_SNIPPETS:%=$(DATADIR)/shell/%) \
	$(SYSTEMDUSERDIR)/sshenv.socket $(SYSTEMDUSERDIR)/sshenv.service

# The service unit names the supervisor: @HELPERDIR@ becomes the real
# HELPERDIR (DESTDIR is only where the tree is staged, never part of it).
# The helpers are installed with -p: the client finds them, and a build
# check (version.h) makes sure they belong together.
INST_DIRS = $(BINDIR) $(MANDIR)/man1 $(MANDIR)/man5 $(DATADIR)/shell \
	$(SYSTEMDUSERDIR) $(HELPERDIR)
# The directories install made (it makes parents too), so that uninstall
# removes those, once empty, and never one that was there before.
DIRS_MANIFEST = $(DATADIR)/installed-dirs

install: $(SSHENV_BINARY) $(SSHENV_HELPERS)
	@m=$$(mktemp) && { cat '$(DESTDIR)$(DIRS_MANIFEST)' 2>/dev/null; \
	for d in $(INST_DIRS); do \
		while [ "$$d" != / ] && [ ! -d "$(DESTDIR)$$d" ]; do \
			echo "$$d"; \
			d=$$(dirname "$$d"); done; \
	done; } | sort -u >"$$m" && \
	install -d -m 0755 $(INST_DIRS:%=$(DESTDIR)%) && \
	install -m 0644 "$$m" '$(DESTDIR)$(DIRS_MANIFEST)'; \
	r=$$?; rm -f "$$m"; exit $$r
	install -m 0755 $(SSHENV_BINARY) $(DESTDIR)$(BINDIR)/sshenv
	install -m 0755 $(SSHENV_HELPERS) $(DESTDIR)$(HELPERDIR)
	install -m 0644 contrib/man/sshenv.1 $(DESTDIR)$(MANDIR)/man1/sshenv.1
	install -m 0644 contrib/man/sshenv.conf.5 \
		$(DESTDIR)$(MANDIR)/man5/sshenv.conf.5
	install -m 0644 conf/sshenv.conf $(DESTDIR)$(DATADIR)/sshenv.conf
	install -m 0644 $(INST_SNIPPETS:%=shell/%) $(DESTDIR)$(DATADIR)/shell
	install -m 0644 contrib/systemd/sshenv.socket \
		$(DESTDIR)$(SYSTEMDUSERDIR)/sshenv.socket
	sed 's|@HELPERDIR@|$(HELPERDIR)|g' contrib/systemd/sshenv.service \
		>$(DESTDIR)$(SYSTEMDUSERDIR)/sshenv.service.tmp
	chmod 0644 $(DESTDIR)$(SYSTEMDUSERDIR)/sshenv.service.tmp
	mv -f $(DESTDIR)$(SYSTEMDUSERDIR)/sshenv.service.tmp \
		$(DESTDIR)$(SYSTEMDUSERDIR)/sshenv.service

# The system-wide login files (they run `sshenv init --all-users`, which
# does nothing unless [login] all_users = yes) and /etc/sshenv.conf with
# every key commented out, never replacing one that is there.
ALL_USERS_FILES = $(SYSCONFDIR)/profile.d/sshenv.sh \
	$(SYSCONFDIR)/csh/login.d/sshenv $(FISHVENDORDIR)/sshenv.fish
install-all-users:
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/profile.d \
		$(DESTDIR)$(SYSCONFDIR)/csh/login.d $(DESTDIR)$(FISHVENDORDIR)
	for f in profile.sh:profile.d/sshenv.sh login.csh:csh/login.d/sshenv; do \
		sed 's|@BINDIR@|$(BINDIR)|g' contrib/all-users/$${f%%:*} \
			>$(DESTDIR)$(SYSCONFDIR)/$${f#*:} && \
		chmod 0644 $(DESTDIR)$(SYSCONFDIR)/$${f#*:} || exit 1; done
	sed 's|@BINDIR@|$(BINDIR)|g' contrib/all-users/sshenv.fish \
		>$(DESTDIR)$(FISHVENDORDIR)/sshenv.fish
	chmod 0644 $(DESTDIR)$(FISHVENDORDIR)/sshenv.fish
	[ -e $(DESTDIR)$(SYSCONFDIR)/sshenv.conf ] || \
		install -m 0644 conf/sshenv.conf $(DESTDIR)$(SYSCONFDIR)/sshenv.conf
uninstall-all-users:
	rm -f $(ALL_USERS_FILES:%=$(DESTDIR)%)

# The directories install made go once empty, deepest first; those that
# were there before stay.  (DATADIR and HELPERDIR are sshenv's own.)
uninstall:
	rm -f $(INST_FILES:%=$(DESTDIR)%)
	@if [ -f '$(DESTDIR)$(DIRS_MANIFEST)' ]; then \
		dirs=$$(sort -r '$(DESTDIR)$(DIRS_MANIFEST)'); \
		rm -f '$(DESTDIR)$(DIRS_MANIFEST)'; \
		for d in $$dirs; do rmdir "$(DESTDIR)$$d" 2>/dev/null; done; \
	fi; :
	rmdir $(DESTDIR)$(DATADIR)/shell $(DESTDIR)$(DATADIR) 2>/dev/null || :
	rmdir $(DESTDIR)$(HELPERDIR) 2>/dev/null || :

clean:
	rm -rf build build-san build-portable build-san-portable build-fuzz

-include $(LIB_OBJS:.o=.d) $(MAIN_SRCS:src/%.c=$(BUILD)/obj/%.d) $(UNIT_BINS:=.d) \
	$(TOOL_BINS:=.d) $(BENCH_BINS:=.d)
