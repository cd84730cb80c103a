# sshenv: see README.md.  `make check` runs every test, plain and under
# AddressSanitizer+UBSan; `make run` shows the thing working; `make bench`
# measures it beside its peers.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
CC ?= cc
CFLAGS ?= -O2 -g
PKGS = libuv inih libcrypto

SAN ?= 0
PORTABLE ?= 0
BUILD ?= build
ifeq ($(SAN),1)
BUILD := $(BUILD)-san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
endif
ifeq ($(PORTABLE),1)
BUILD := $(BUILD)-portable
PORTFLAGS = -DSSHENV_PORTABLE
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(CFLAGS) \
	$(SANFLAGS) $(PORTFLAGS) -Isrc $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)
LIBS = $(PKG_LIBS) -lpthread

LIB_SRCS := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: all check run bench install uninstall clean deps deps-test \
	deps-bench unit

all: $(BUILD)/sshenv $(UNIT_BINS) $(TOOL_BINS) $(BENCH_BINS)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libsshenv.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/sshenv: $(BUILD)/obj/main.o $(BUILD)/libsshenv.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libsshenv.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(ALL_LDFLAGS) -o $@ $< \
		$(BUILD)/libsshenv.a $(LIBS)

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libsshenv.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libsshenv.a $(LIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libsshenv.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libsshenv.a $(LIBS)

deps:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench

# Every test, first with the plain build, then with ASan+UBSan.
check: deps-test
	$(MAKE) all
	$(MAKE) SAN=1 all
	tests/run.sh $(BUILD) $(BUILD)-san

# Only the plain build; TESTS=pattern picks suites.
unit: deps-test
	$(MAKE) all
	tests/run.sh $(BUILD)

run: deps
	$(MAKE) all
	scripts/run.sh $(BUILD)/sshenv

bench: deps-bench
	$(MAKE) all
	bench/run.sh $(BUILD)

install: $(BUILD)/sshenv
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(BUILD)/sshenv $(DESTDIR)$(BINDIR)/sshenv

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sshenv

clean:
	rm -rf build build-san build-portable build-san-portable

-include $(LIB_OBJS:.o=.d) $(BUILD)/obj/main.d
