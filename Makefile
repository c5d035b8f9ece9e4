# Makefile: builds porterd (and porterctl when its source exists) and runs
# every test suite. One GNU Makefile for the whole tree; the sanitizer and
# fuzzing builds re-invoke this same file with another BUILD directory, so
# each rule is written once.
#
#   make                 build $(BUILD)/porterd (and $(BUILD)/porterctl)
#   make check           deps, build, unit, configs, fuzz replay, man lint,
#                        integration, interop; ends with "N passed, M failed"
#   make check-asan      the same rebuilt in build-asan/ under ASan+UBSan
#   make check-valgrind  the integration suite with porterd under valgrind
#   make fuzz            libFuzzer on each parser (FUZZ=conf ident tcpmux)
#                        for FUZZ_SECONDS each
#   make run             serve examples/porter.conf in the foreground
#   make install         binaries (stripped), man pages, examples, the
#                        systemd unit, and a default $(SYSCONFDIR)/porter.conf
#                        unless one exists; DESTDIR= PREFIX=/usr/local
#                        SYSCONFDIR=/etc UNITDIR= STRIP=strip (STRIP= keeps
#                        the symbols)
#   make uninstall       removes what install put, except a porter.conf that
#                        was changed
#   make deb             the Debian package, built with dpkg-buildpackage
#                        from a copy of the tree in $(BUILD)/deb/, which is
#                        where the .deb lands; then lintian on it
#   make format-check    clang-format --dry-run over src/
#   make clean
#
# Options: CC=clang, WERROR=1, V=1 (show commands), BUILD=dir.

CC ?= cc
AR ?= ar
CLANG ?= clang
CLANG_FORMAT ?= clang-format
MANDOC ?= mandoc
PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/porter
SYSCONFDIR ?= /etc
# systemd reads units from /usr/local/lib/systemd/system as well as from
# /usr/lib/systemd/system, so the unit follows PREFIX; the Debian package
# sets /lib/systemd/system (debian/rules).
UNITDIR ?= $(PREFIX)/lib/systemd/system
# The program `install -s` strips with; STRIP= installs the binaries as
# built, for a debug build or a packager who strips (dh_strip keeps the
# symbols in the -dbgsym package).
STRIP ?= strip
FUZZ_SECONDS ?= 600
BUILD ?= build
# SAN= (plain), SAN=1 (ASan+UBSan), SAN=fuzz (libFuzzer+ASan+UBSan, clang).
SAN ?=
WERROR ?=
CFLAGS ?= -O2 -g

WARNINGS := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla
P_CPPFLAGS := -D_GNU_SOURCE -Isrc $(CPPFLAGS)
P_CFLAGS := -std=c17 $(WARNINGS) $(CFLAGS)
P_LDFLAGS := $(LDFLAGS)
P_LIBS := $(LDLIBS) -lssl -lcrypto -lseccomp -pthread
DEPFLAGS = -MMD -MP -MF $(@:.o=.d) -MT $@

ifeq ($(WERROR),1)
P_CFLAGS += -Werror
endif

ifeq ($(SAN),)
# Fortification is left out of sanitizer builds: the __*_chk variants
# bypass ASan's interceptors.
P_CPPFLAGS += -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
CHECK_LABEL := check
else ifeq ($(SAN),fuzz)
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=all
P_CFLAGS += $(SANFLAGS)
P_LDFLAGS += $(SANFLAGS)
CHECK_LABEL := check-fuzz
else
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
P_CFLAGS += $(SANFLAGS)
P_LDFLAGS += $(SANFLAGS)
CHECK_LABEL := check-asan
export ASAN_OPTIONS ?= detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
endif

ifeq ($(V),1)
Q :=
say := @true
else
Q := @
say := @printf '  %-7s %s\n'
endif

# ------------------------------------------------------------------ sources

SRCS := $(wildcard src/*.c)
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
MAIN_OBJ := $(BUILD)/obj/main.o
LIB := $(BUILD)/libporter.a
PORTERD := $(BUILD)/porterd

CTL_SRC := $(wildcard src/ctl/porterctl.c)
CTL_OBJ := $(CTL_SRC:src/%.c=$(BUILD)/obj/%.o)
PORTERCTL := $(if $(CTL_SRC),$(BUILD)/porterctl)
BINS := $(PORTERD) $(PORTERCTL)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_OBJS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%.o)
UNIT_BINS := $(UNIT_OBJS:.o=)

# One harness per parser of outside input, fuzz/fuzz_NAME.c, each with its
# corpus: fuzz/corpus for the configuration, fuzz/corpus-NAME for the rest.
FUZZ_HARNESSES := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ ?= $(FUZZ_HARNESSES)
FUZZ_OBJS := $(BUILD)/fuzz/replay.o $(FUZZ_HARNESSES:%=$(BUILD)/fuzz/fuzz_%.o)
REPLAYS := $(FUZZ_HARNESSES:%=$(BUILD)/fuzz/replay_%)
FUZZERS := $(FUZZ_HARNESSES:%=$(BUILD)/fuzz/fuzz_%)
fuzz_corpus = $(if $(filter conf,$(1)),fuzz/corpus,fuzz/corpus-$(1))
# Every corpus replayed, each by its harness; a harness without a corpus
# fails the suite.
FUZZ_REPLAY = $(foreach h,$(FUZZ_HARNESSES),test -n "$$(ls -A $(call fuzz_corpus,$(h)))" && \
	$(BUILD)/fuzz/replay_$(h) $(call fuzz_corpus,$(h)) &&) true

# Small programs the integration tests run as servers.
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/tests/helpers/%)

MANPAGES := $(wildcard man/*.5 man/*.8)
EXAMPLES := $(wildcard examples/*.conf examples/*.socket)
# Examples that are trees of their own (a fail2ban filter and jail, an
# HAProxy setup), installed with their layout.
EXAMPLE_TREES := $(wildcard examples/fail2ban/README.md examples/fail2ban/*/*.conf \
	examples/haproxy/*)
# Made from examples/*.in with the installation paths filled in.
UNIT := $(BUILD)/porter.service
DEFAULT_CONF := $(BUILD)/porter.conf
FORMAT_SRCS := $(wildcard src/*.[ch] src/ctl/*.[ch])

INTEGRATION := $(wildcard tests/integration/run.sh)
INTEROP := $(wildcard tests/interop/run.sh)

ALL_OBJS := $(LIB_OBJS) $(MAIN_OBJ) $(CTL_OBJ) $(UNIT_OBJS) $(FUZZ_OBJS)

# Objects depend on this file, which changes only when the compiler or the
# flags do, so `make WERROR=1` after `make` really recompiles.
STAMP := $(BUILD)/.flags
FLAGS_LINE = $(CC) $(P_CPPFLAGS) $(P_CFLAGS) | $(P_LDFLAGS) $(P_LIBS)

# Environment the suites see: the binaries under test, absolute.
SUITE_ENV = PORTERD=$(abspath $(PORTERD)) HELPERS=$(abspath $(BUILD)/tests/helpers) \
	$(if $(PORTERCTL),PORTERCTL=$(abspath $(PORTERCTL))) BUILD=$(BUILD)

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:
.PHONY: all lib check check-asan check-valgrind check-deps check-build \
	check-suites fuzz fuzz-run run install uninstall deb format format-check \
	clean FORCE

# ------------------------------------------------------------------- build

all: $(BINS) $(UNIT) $(DEFAULT_CONF)

lib: $(LIB)

$(STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(FLAGS_LINE)' | cmp -s - $@ || echo '$(FLAGS_LINE)' >$@

$(BUILD)/obj/%.o: src/%.c $(STAMP)
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(P_CPPFLAGS) $(P_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(UNIT_OBJS): $(BUILD)/tests/%.o: tests/unit/%.c $(STAMP)
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(P_CPPFLAGS) $(P_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(FUZZ_OBJS): $(BUILD)/fuzz/%.o: fuzz/%.c $(STAMP)
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(P_CPPFLAGS) $(P_CFLAGS) $(DEPFLAGS) -c -o $@ $<

# Recreated whole so that the object of a deleted source cannot linger.
$(LIB): $(LIB_OBJS)
	$(say) AR $@
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(PORTERD): $(MAIN_OBJ) $(LIB)
	$(say) LD $@
	$(Q)$(CC) $(P_LDFLAGS) -o $@ $^ $(P_LIBS)

# porterctl shares only headers with porterd (conf.h, ctl.h), so a change
# to the daemon's code does not relink it.
ifneq ($(CTL_SRC),)
$(PORTERCTL): $(CTL_OBJ)
	$(say) LD $@
	$(Q)$(CC) $(P_LDFLAGS) -o $@ $^ $(P_LIBS)
endif

$(UNIT_BINS): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIB)
	$(say) LD $@
	$(Q)$(CC) $(P_LDFLAGS) -o $@ $^ -lcmocka $(P_LIBS)

# Plain programs, not linked with porter, built static so that they start
# fast and behave the same inside a chroot.
$(HELPER_BINS): $(BUILD)/tests/helpers/%: tests/helpers/%.c $(STAMP)
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra $(if $(SAN),,-static) -o $@ $<

$(REPLAYS): $(BUILD)/fuzz/replay_%: $(BUILD)/fuzz/replay.o $(BUILD)/fuzz/fuzz_%.o $(LIB)
	$(say) LD $@
	$(Q)$(CC) $(P_LDFLAGS) -o $@ $^ $(P_LIBS)

# Only meaningful with SAN=fuzz: `make fuzz` arranges that.
$(FUZZERS): $(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/fuzz_%.o $(LIB)
	$(say) LD $@
	$(Q)$(CC) $(P_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(P_LIBS)

-include $(ALL_OBJS:.o=.d)

# ------------------------------------------------------------------- check
#
# A suite is one command that exits 0 when it passes. Each is recorded in
# $(RESULTS) as "passed NAME", "failed NAME" or "skipped NAME"; a failing
# suite does not stop the others, and the last line sums them up.

RESULTS := $(BUILD)/check.results

# $(call suite,NAME,COMMAND)
suite = @printf '\n=== %s\n' '$(1)'; \
	if $(2); then echo 'passed $(1)' >>$(RESULTS); \
	else echo 'failed $(1)' >>$(RESULTS); echo '=== $(1): FAILED'; fi
# $(call skip,NAME,WHY)
skip = @printf '\n=== %s: skipped (%s)\n' '$(1)' '$(2)'; \
	echo 'skipped $(1)' >>$(RESULTS)

check:
	@scripts/check-deps.sh
	@$(MAKE) --no-print-directory check-build
	@$(MAKE) --no-print-directory check-suites

check-deps:
	@scripts/check-deps.sh

check-build: $(BINS) $(UNIT_BINS) $(REPLAYS) $(HELPER_BINS)

# A new suite is one more line here, $(call suite,NAME,COMMAND) (COMMAND
# without commas: put it in a variable if it needs one), plus whatever it
# needs built in check-build. Unit tests, config cases, corpus files and man
# pages are picked up by wildcard and need no line.
check-suites:
	@mkdir -p $(BUILD)
	@rm -f $(RESULTS)
	@for t in $(UNIT_BINS); do \
		n=unit/$${t##*/}; printf '\n=== %s\n' "$$n"; \
		if $$t; then echo "passed $$n" >>$(RESULTS); \
		else echo "failed $$n" >>$(RESULTS); echo "=== $$n: FAILED"; fi; \
	done
	$(call suite,configs,bash tests/run-configs.sh $(PORTERD))
	$(call suite,fuzz-replay,$(FUZZ_REPLAY))
	$(if $(MANPAGES),$(call suite,man-lint,$(MANDOC) -Tlint -Wwarning $(MANPAGES)),$(call skip,man-lint,no man pages yet))
	$(if $(INTEGRATION),$(call suite,integration,$(SUITE_ENV) bash $(INTEGRATION) $(PORTERD)),$(call skip,integration,no tests/integration/run.sh))
	$(if $(INTEROP),$(call suite,interop,$(SUITE_ENV) bash $(INTEROP) $(PORTERD)),$(call skip,interop,no tests/interop/run.sh))
	@p=$$(grep -c '^passed' $(RESULTS)); f=$$(grep -c '^failed' $(RESULTS)); \
	s=$$(grep -c '^skipped' $(RESULTS)); echo; \
	grep '^failed' $(RESULTS) | sed 's/^failed /failed suite: /'; \
	if [ "$$s" -gt 0 ]; then echo "$(CHECK_LABEL): $$p passed, $$f failed, $$s skipped"; \
	else echo "$(CHECK_LABEL): $$p passed, $$f failed"; fi; \
	[ "$$f" -eq 0 ]

check-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 check

VALGRIND := valgrind --error-exitcode=99 --track-fds=yes --leak-check=full

check-valgrind:
	@$(MAKE) --no-print-directory all
ifneq ($(INTEGRATION),)
	PORTERD_WRAPPER="$(VALGRIND)" $(SUITE_ENV) bash $(INTEGRATION) $(PORTERD)
else
	@echo 'check-valgrind: no tests/integration/run.sh yet; skipped'
endif

# -------------------------------------------------------------------- fuzz

fuzz:
	@$(MAKE) --no-print-directory BUILD=build-fuzz SAN=fuzz CC=$(CLANG) fuzz-run

# Each harness grows a copy of its corpus in $(BUILD)/corpus-NAME; what it
# found new is kept by copying that back (libFuzzer's -merge=1 keeps it
# small).
fuzz-run: $(FUZZ:%=$(BUILD)/fuzz/fuzz_%)
	@for h in $(FUZZ); do \
		c=$$(test $$h = conf && echo fuzz/corpus || echo fuzz/corpus-$$h); \
		mkdir -p $(BUILD)/corpus-$$h $(BUILD)/artifacts; \
		if [ -n "$$(ls -A $$c 2>/dev/null)" ]; then cp -R $$c/. $(BUILD)/corpus-$$h/; fi; \
		echo "=== fuzz $$h for $(FUZZ_SECONDS) s"; \
		$(BUILD)/fuzz/fuzz_$$h -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=$(BUILD)/artifacts/$$h- $(BUILD)/corpus-$$h || exit 1; \
	done

# ------------------------------------------------------------ run, install

run: $(PORTERD)
	$(PORTERD) -F -f examples/porter.conf

# The generated files depend on this one, which changes only when the
# paths do, so `make install PREFIX=/usr` after `make` fills them in anew.
PATHS_STAMP := $(BUILD)/.paths
PATHS_LINE = $(SBINDIR) $(SYSCONFDIR)

$(PATHS_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(PATHS_LINE)' | cmp -s - $@ || echo '$(PATHS_LINE)' >$@

$(UNIT): examples/porter.service.in $(PATHS_STAMP)
	$(say) GEN $@
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< >$@

$(DEFAULT_CONF): examples/default.conf.in $(PATHS_STAMP)
	$(say) GEN $@
	$(Q)sed -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< >$@

INSTALL_STRIP = $(if $(STRIP),-s --strip-program=$(STRIP))
MAN5 := $(filter %.5,$(MANPAGES))
MAN8 := $(filter %.8,$(MANPAGES))
CONF_DEST = $(DESTDIR)$(SYSCONFDIR)/porter.conf

# A porter.conf that exists, the administrator's or an earlier install's,
# is never overwritten.
install: all
	install -d $(DESTDIR)$(SBINDIR)
	install -m 0755 $(INSTALL_STRIP) $(BINS) $(DESTDIR)$(SBINDIR)/
ifneq ($(MAN5),)
	install -d $(DESTDIR)$(MANDIR)/man5
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
endif
ifneq ($(MAN8),)
	install -d $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
endif
ifneq ($(EXAMPLES),)
	install -d $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
endif
	@for f in $(EXAMPLE_TREES); do \
		echo "install -D -m 0644 $$f $(DESTDIR)$(DOCDIR)/$$f"; \
		install -D -m 0644 $$f $(DESTDIR)$(DOCDIR)/$$f || exit 1; \
	done
	install -d $(DESTDIR)$(UNITDIR)
	install -m 0644 $(UNIT) $(DESTDIR)$(UNITDIR)/porter.service
	install -d $(DESTDIR)$(SYSCONFDIR)/porter.d
	@if [ -e $(CONF_DEST) ] || [ -L $(CONF_DEST) ]; then \
		echo 'install: $(CONF_DEST) exists; left as it is (the default is $(DEFAULT_CONF))'; \
	else \
		echo 'install -m 0644 $(DEFAULT_CONF) $(CONF_DEST)'; \
		install -m 0644 $(DEFAULT_CONF) $(CONF_DEST); \
	fi

# What the administrator changed stays, as a package removed without
# purging leaves its configuration: porter.conf goes only when it is still
# the default, porter.d only when empty. Shared directories stay.
uninstall: $(DEFAULT_CONF)
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(notdir $(BINS)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8)))
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(notdir $(EXAMPLES)))
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(EXAMPLE_TREES))
	rm -f $(DESTDIR)$(UNITDIR)/porter.service
	@for d in $(sort $(dir $(addprefix $(DESTDIR)$(DOCDIR)/,$(EXAMPLE_TREES)))); do \
		rmdir $$d 2>/dev/null || true; \
	done
	@for d in $(sort $(dir $(patsubst %/,%,$(dir $(addprefix $(DESTDIR)$(DOCDIR)/,$(EXAMPLE_TREES)))))); do \
		rmdir $$d 2>/dev/null || true; \
	done
	@for d in $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR); do \
		if [ -d $$d ]; then rmdir $$d 2>/dev/null || echo "uninstall: $$d is not empty; left"; fi; \
	done
	@if [ -L $(CONF_DEST) ] || { [ -f $(CONF_DEST) ] && ! cmp -s $(DEFAULT_CONF) $(CONF_DEST); }; then \
		echo 'uninstall: $(CONF_DEST) differs from the default; left'; \
	else \
		echo 'rm -f $(CONF_DEST)'; rm -f $(CONF_DEST); \
	fi
	@d=$(DESTDIR)$(SYSCONFDIR)/porter.d; \
	if [ -d $$d ]; then rmdir $$d 2>/dev/null || echo "uninstall: $$d is not empty; left"; fi

# The package is built from a copy of what it needs, so that neither
# dpkg-buildpackage's files nor debian/'s leftovers land in the tree; the
# copy builds with dpkg-buildflags' flags, none of this make's.
DEB_DIR := $(BUILD)/deb
DEB_FILES := Makefile README.md debian examples man src
# Variables given to this make reach the environment of the commands it
# runs, and the copy's Makefile would take them from there.
DEB_UNSET := MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES BUILD SAN WERROR V CC \
	PREFIX DESTDIR SBINDIR MANDIR DOCDIR SYSCONFDIR UNITDIR STRIP
DEB_ENV := env $(addprefix -u ,$(DEB_UNSET))

deb:
	@command -v dpkg-buildpackage >/dev/null || \
		{ echo 'deb: dpkg-buildpackage is missing: sudo scripts/deps.sh' >&2; exit 1; }
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/porter
	cp -R $(DEB_FILES) $(DEB_DIR)/porter/
	cd $(DEB_DIR)/porter && $(DEB_ENV) dpkg-buildpackage -us -uc -b -jauto
	@if command -v lintian >/dev/null; then \
		echo 'lintian --fail-on error,warning $(DEB_DIR)/*.changes'; \
		lintian --fail-on error,warning $(DEB_DIR)/*.changes; \
	else echo 'deb: lintian is not installed; not checked'; fi
	@ls $(DEB_DIR)/*.deb

# ------------------------------------------------------------------- misc

format-check:
	$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRCS)

format:
	$(CLANG_FORMAT) -i $(FORMAT_SRCS)

clean:
	rm -rf build build-asan build-fuzz build-clang $(filter-out build build-asan build-fuzz build-clang,$(BUILD))

FORCE:

# ------------------------------------------------------------------- bench
#
# `make bench` (not part of `make check`): porterd and the bench tools are
# built in build-bench/, the peers are fetched and unpacked there by
# bench/peers.sh (never installed), then bench/run.sh runs every workload
# and writes bench/RESULTS.md. About 10 minutes on 2 CPUs; longer and
# steadier: BENCH_ROUNDS=5 BENCH_SECONDS=10 make bench (see bench/run.sh).
# BENCH_STAGES=tls make bench runs only the TLS stage (porterd, stunnel4,
# haproxy; not in the default run) and rewrites only its section.
# BENCH_STAGES=sandbox make bench does the same for the sandbox stage
# (porterd's sandbox beside bwrap, firejail and unshare; not in the default
# run either).

BENCH_DIR := build-bench
BENCH_TOOLS := $(BENCH_DIR)/load $(BENCH_DIR)/floor $(BENCH_DIR)/tiny

.PHONY: bench bench-tools clean-bench

bench:
	@if [ "$$(id -u)" -eq 0 ] && [ -n "$$(scripts/deps.sh --missing)" ]; then \
		scripts/deps.sh; fi
	@$(MAKE) --no-print-directory BUILD=$(BENCH_DIR) $(BENCH_DIR)/porterd bench-tools
	BENCH_COMMAND='make bench' bash bench/run.sh

bench-tools: $(BENCH_TOOLS)

# Of the bench tools only the load generator links OpenSSL (libssl-dev), for
# its TLS client modes (the tls stage); floor and tiny stay plain.
BENCH_LIBS_load := -lssl -lcrypto

$(BENCH_DIR)/load $(BENCH_DIR)/floor: $(BENCH_DIR)/%: bench/%.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) -std=c17 -D_GNU_SOURCE -O2 -g $(WARNINGS) $(if $(filter 1,$(WERROR)),-Werror) -o $@ $< \
		$(BENCH_LIBS_$*)

# Static, so that exec costs as little as the kernel allows.
$(BENCH_DIR)/tiny: bench/tiny.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) -std=c17 -O2 -static -Wall -Wextra -o $@ $<

clean: clean-bench

clean-bench:
	rm -rf $(BENCH_DIR)
