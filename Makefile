# xdpban - build, test, bench, install.
#
#   make            build build/xdpban (and the XDP object, embedded as a skeleton)
#   make deps       install the Debian packages the project needs (idempotent)
#   make check      deps + build + every test (unit, sanitizers, fuzzing, netns traffic, e2e, vmtest,
#                   the Debian package, the systemd VM)
#   make deb        the Debian package, $(BUILD)/deb/xdpban_$(VERSION)_amd64.deb
#   make vmtest-system  the package in a Debian 12 guest booting systemd, under QEMU
#   make fuzz       the libFuzzer targets, $(BUILD)/fuzz/fuzz_* (check-fuzz runs them)
#   make bench      per-packet and log-parsing benchmarks against the peers
#   make demo       the lab: a real sshd under brute force, banned by xdpban
#   make man        the man page, $(BUILD)/xdpban.8, from doc/xdpban.8.scd
#
# BUILD=dir puts every output in another folder; V=1 shows the commands.

BUILD    ?= build
VERSION  ?= 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDARY:

PKGS      := libbpf libnl-3.0 libnl-route-3.0 libsystemd libpcre2-8 libxml-2.0 json-c sqlite3 zlib libmicrohttpd libcurl libnats
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf
CRIT_LIBS  = $(shell pkg-config --libs criterion 2>/dev/null || echo -lcriterion)

WARN      := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS    ?= -O2 -g
XCFLAGS   := -DXDPBAN_VERSION=\"$(VERSION)\" -DXDPBAN_PREFIX=\"$(PREFIX)\" $(WARN) -std=gnu11 -D_GNU_SOURCE -I$(BUILD) -Ibpf -Iuser $(PKG_CFLAGS) -MMD -MP
SANFLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) -I$(BUILD) -Ibpf

# The product's XDP program; the benchmarks' own programs (floor, traffic
# generator) live beside the benchmarks. Every skeleton goes into $(BUILD).
BPF_SRCS  := $(wildcard bpf/*.bpf.c) $(wildcard tests/bench/*.bpf.c)
SKELS     := $(addprefix $(BUILD)/,$(notdir $(BPF_SRCS:.bpf.c=.skel.h)))
vpath %.bpf.c bpf tests/bench
# user/STAGE/*.c: one folder per pipeline stage (see README, "Where things are").
USER_SRCS := $(wildcard user/*/*.c)
LIB_SRCS  := $(filter-out user/cli/main.c,$(USER_SRCS))
LIB_OBJS  := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
SAN_OBJS  := $(patsubst user/%.c,$(BUILD)/san/obj/%.o,$(LIB_SRCS))
# tests/STAGE/test_*.c mirror user/ (and bpf/); each is one Criterion binary,
# built flat as $(BUILD)/tests/test_NAME. tests/lib/*.c are helpers linked into each.
TEST_SRCS := $(wildcard tests/*/test_*.c)
TEST_AUX  := $(wildcard tests/lib/*.c)
TESTS     := $(addprefix $(BUILD)/tests/,$(notdir $(TEST_SRCS:.c=)))
SAN_TESTS := $(addprefix $(BUILD)/san/tests/,$(notdir $(TEST_SRCS:.c=)))
vpath test_%.c $(sort $(dir $(TEST_SRCS)))
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_SRCS := $(filter-out %.bpf.c,$(BENCH_SRCS))
BENCHES   := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

.PHONY: all tests deps check check-layout check-unit check-san check-net check-e2e check-ruleset vmtest \
        bench bench-traffic demo install uninstall clean man

all: $(BUILD)/xdpban

tests: $(TESTS) $(SAN_TESTS) $(BENCHES) $(BUILD)/xdpban

# --- BPF -------------------------------------------------------------------

# Regenerate vmlinux.h only when the kernel's BTF really changed.
$(BUILD)/vmlinux.h: | $(BUILD)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(BUILD)/%.bpf.o: %.bpf.c bpf/xdpban.h $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $(@:.o=.tmp.o)
	$(Q)$(BPFTOOL) gen object $@ $(@:.o=.tmp.o)
	$(Q)rm -f $(@:.o=.tmp.o)

# The benchmark's builds of the product without a part include its source.
$(patsubst tests/bench/%.bpf.c,$(BUILD)/%.bpf.o,$(wildcard tests/bench/xdpban_omit_*.bpf.c)): bpf/xdpban.bpf.c

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

# --- userspace -------------------------------------------------------------

$(BUILD) $(BUILD)/tests $(BUILD)/san/tests $(BUILD)/bench:
	$(Q)mkdir -p $@

$(BUILD)/obj/%.o: user/%.c $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(XCFLAGS) -c $< -o $@

$(BUILD)/san/obj/%.o: user/%.c $(SKELS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $(XCFLAGS) -c $< -o $@

$(BUILD)/libxdpban.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/san/libxdpban.a: $(SAN_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/xdpban: $(BUILD)/obj/cli/main.o $(BUILD)/libxdpban.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(PKG_LIBS) -o $@

# Each test binary is built twice: plain and with ASan+UBSan.
$(BUILD)/tests/%: %.c $(TEST_AUX) $(BUILD)/libxdpban.a | $(BUILD)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -Itests $< $(TEST_AUX) $(BUILD)/libxdpban.a $(PKG_LIBS) $(CRIT_LIBS) -o $@

$(BUILD)/san/tests/%: %.c $(TEST_AUX) $(BUILD)/san/libxdpban.a | $(BUILD)/san/tests
	$(call msg,TEST-SAN,$@)
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $(XCFLAGS) -Itests $< $(TEST_AUX) $(BUILD)/san/libxdpban.a $(PKG_LIBS) $(CRIT_LIBS) -o $@

$(BUILD)/bench/%: tests/bench/%.c $(BUILD)/libxdpban.a | $(BUILD)/bench
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -Itests $< $(BUILD)/libxdpban.a $(PKG_LIBS) -lm -o $@

# --- fuzzing ---------------------------------------------------------------
# tests/fuzz/fuzz_NAME.c are libFuzzer targets, linked with the project's
# sources built by clang with the fuzz flags in $(BUILD)/fuzz/obj; their seeds
# are tests/fuzz/seeds/NAME/, their dictionaries tests/fuzz/NAME.dict.
# check-fuzz runs each for FUZZ_SECONDS (scripts/check.sh fuzz).

FUZZ_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_OBJS  := $(patsubst user/%.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS))

.PHONY: fuzz check-fuzz

fuzz: $(FUZZERS)

$(BUILD)/fuzz/obj/%.o: user/%.c $(SKELS)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(XCFLAGS) -c $< -o $@

$(BUILD)/fuzz/libxdpban.a: $(FUZZ_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/libxdpban.a
	$(call msg,FUZZER,$@)
	$(Q)$(CLANG) $(FUZZ_FLAGS) -fsanitize=fuzzer $(XCFLAGS) -Itests $< $(BUILD)/fuzz/libxdpban.a $(PKG_LIBS) -o $@

check-fuzz: fuzz
	$(Q)BUILD=$(BUILD) scripts/check.sh fuzz

-include $(wildcard $(BUILD)/fuzz/obj/*/*.d $(BUILD)/fuzz/*.d)

# --- set-up, tests, benchmarks ---------------------------------------------

deps:
	$(Q)scripts/deps.sh

# deps runs first in its own make so pkg-config sees the installed packages.
check:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory tests fuzz
	$(Q)BUILD=$(BUILD) scripts/check.sh all

check-layout:
	$(Q)scripts/check.sh layout

check-ruleset: $(BUILD)/xdpban
	$(Q)BUILD=$(BUILD) scripts/check.sh ruleset

check-unit check-san check-net check-e2e: tests
	$(Q)BUILD=$(BUILD) scripts/check.sh $(@:check-%=%)

vmtest: tests
	$(Q)BUILD=$(BUILD) vmtest/run.sh

bench:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)BUILD=$(BUILD) scripts/bench.sh

bench-traffic:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)BUILD=$(BUILD) scripts/bench-traffic.sh

# The daemon under a sustained attack with restarts (SOAK_SECONDS, default 600).
.PHONY: soak
soak:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) scripts/soak.sh

demo:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) scripts/lab.sh demo

# The man page, generated from its scdoc source.
man: $(BUILD)/xdpban.8

$(BUILD)/xdpban.8: doc/xdpban.8.scd | $(BUILD)
	$(call msg,SCDOC,$@)
	$(Q)scdoc < $< > $@

install: all man
	install -D -m 0755 $(BUILD)/xdpban $(DESTDIR)$(PREFIX)/sbin/xdpban
	install -D -m 0644 $(BUILD)/xdpban.8 $(DESTDIR)$(PREFIX)/share/man/man8/xdpban.8
	install -D -m 0644 scripts/xdpban.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/xdpban
	install -d -m 0755 $(DESTDIR)/etc/xdpban $(DESTDIR)$(PREFIX)/share/xdpban/rules
	install -m 0644 rules/*.xml $(DESTDIR)$(PREFIX)/share/xdpban/rules/
	sed 's|@PREFIX@|$(PREFIX)|g' scripts/xdpban.conf > $(BUILD)/xdpban.conf
	test -e $(DESTDIR)/etc/xdpban/xdpban.conf || \
		install -m 0600 $(BUILD)/xdpban.conf $(DESTDIR)/etc/xdpban/xdpban.conf
	sed 's|@PREFIX@|$(PREFIX)|g' scripts/xdpban.service > $(BUILD)/xdpban.service
	install -D -m 0644 $(BUILD)/xdpban.service $(DESTDIR)/lib/systemd/system/xdpban.service

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/xdpban $(DESTDIR)/lib/systemd/system/xdpban.service
	rm -f $(DESTDIR)$(PREFIX)/share/man/man8/xdpban.8 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/xdpban
	rm -rf $(DESTDIR)$(PREFIX)/share/xdpban

clean:
	rm -rf $(BUILD)

# --- packaging and the systemd VM ------------------------------------------
# make deb: $(BUILD)/deb/xdpban_$(VERSION)_amd64.deb by dpkg-buildpackage from
# debian/, in a copy of the tree (dpkg-buildpackage writes into the parent of
# the source folder), without .git and the build folders.
# make vmtest-system: Debian 12 with systemd as PID 1 under QEMU, the package
# installed, sshd logging to journald (vmtest/system/run.sh).

DEB_DIR := $(BUILD)/deb
DEB     := $(DEB_DIR)/xdpban_$(VERSION)_amd64.deb

.PHONY: deb check-deb vmtest-system

deb:
	$(call msg,DEB,$(DEB))
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/xdpban-$(VERSION)
	$(Q)tar --exclude=./.git --exclude=./build --exclude='./build-*' --exclude='./$(BUILD)' -cf - . | \
		tar -C $(DEB_DIR)/xdpban-$(VERSION) -xf -
	$(Q)cd $(DEB_DIR)/xdpban-$(VERSION) && \
		dpkg-buildpackage -b -us -uc > ../build.log 2>&1 || { tail -40 ../build.log; exit 1; }
	$(Q)test -f $(DEB) || { echo "deb: $(DEB) not made (debian/changelog names another version?)" >&2; exit 1; }

check-deb:
	$(Q)BUILD=$(BUILD) scripts/check.sh deploy

vmtest-system: deb
	$(Q)BUILD=$(BUILD) vmtest/system/run.sh

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/san/obj/*/*.d $(BUILD)/tests/*.d $(BUILD)/san/tests/*.d)
