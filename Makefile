# sentrik-master — build, test and install.
#
#   make            build the binary
#   make test       install missing build deps, build, run unit + integration tests
#   make asan       the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make demo       build and run 4 example HTTP workers on 127.0.0.1:8000
#   make install    PREFIX=/usr/local DESTDIR=

PROG     := sentrik-master
CTL      := sentrikctl
VERSION  := 0.1.0
PREFIX   ?= /usr/local
SBINDIR  ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
CC       ?= cc
BUILD    ?= build

PKGS     := libcap-ng inih
DEPS_PKGS := libev-dev libcap-ng-dev libcmocka-dev libinih-dev pkg-config
# What the integration tests run, as command:package; installed by the test
# targets when missing (as root with apt-get), else the tests that need one
# skip and say which.
TEST_TOOLS := curl:curl wrk:wrk python3:python3 logrotate:logrotate setpriv:util-linux \
              prlimit:util-linux ss:iproute2 useradd:passwd mandoc:mandoc \
              systemd-analyze:systemd uvicorn:uvicorn gunicorn:gunicorn flask:python3-flask \
              node:nodejs promtool:prometheus
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
            -Wshadow -Wcast-qual -Wformat=2
HARDEN   := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
OPT      ?= -O2 -g
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) -Iinclude \
             $(PKG_CFLAGS) -DSM_VERSION='"$(VERSION)"' $(EXTRA_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = -pie -Wl,-z,relro,-z,now $(EXTRA_LDFLAGS) $(LDFLAGS)
LIBS     := -lev $(PKG_LIBS)

SRCS     := $(wildcard src/*.c)
OBJS     := $(SRCS:src/%.c=$(BUILD)/%.o)
LIBOBJS  := $(filter-out $(BUILD)/main.o,$(OBJS))
# sentrikctl links the protocol module and nothing else of the master.
CTL_OBJS := $(patsubst src/ctl/%.c,$(BUILD)/ctl/%.o,$(wildcard src/ctl/*.c)) $(BUILD)/proto.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/helpers/%)
EXAMPLE_SRCS := $(wildcard examples/*/*.c)
EXAMPLE_BINS := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%)
# Where the integration tests and benchmarks find what they run.
TEST_ENV  = SM_BIN=$(CURDIR)/$(BUILD)/$(PROG) SM_CTL=$(CURDIR)/$(BUILD)/$(CTL) SM_HELPERS=$(CURDIR)/$(BUILD)/helpers \
            SM_EXAMPLES=$(CURDIR)/$(BUILD)/examples

.PHONY: all deps test-deps test unit integration asan valgrind demo install clean lint bench bench-plot fuzz helpers examples fuzz-run

all: $(BUILD)/$(PROG) $(PROG) $(BUILD)/$(CTL)

$(PROG): $(BUILD)/$(PROG)
	@ln -sf $(BUILD)/$(PROG) $(PROG)

$(BUILD)/$(PROG): $(OBJS)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $(OBJS) $(LIBS)

$(BUILD)/%.o: src/%.c $(wildcard include/sentrik/*.h) | $(BUILD)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/$(CTL): $(CTL_OBJS)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $(CTL_OBJS)

$(BUILD)/ctl/%.o: src/ctl/%.c $(wildcard include/sentrik/*.h) | $(BUILD)
	@echo "  CC      $<"
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD):
	@mkdir -p $(BUILD)/tests $(BUILD)/helpers $(BUILD)/examples $(BUILD)/ctl

# Each unit test links every module but main.
$(BUILD)/tests/%: tests/unit/%.c $(LIBOBJS) | $(BUILD)
	$(CC) $(CFLAGS_ALL) $(CMOCKA_CFLAGS) $(LDFLAGS_ALL) -o $@ $< $(LIBOBJS) $(LIBS) $(CMOCKA_LIBS)

$(BUILD)/helpers/%: tests/helpers/%.c | $(BUILD)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o $@ $<

$(BUILD)/examples/%: examples/%.c | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror $(HARDEN) -pie -o $@ $<

helpers: $(HELPER_BINS)
examples: $(EXAMPLE_BINS)

deps:
	@missing=""; \
	for h in ev.h cap-ng.h cmocka.h ini.h; do \
	  printf '#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <stdint.h>\n#include <%s>\n' $$h | \
	    $(CC) -E -x c - >/dev/null 2>&1 || missing="$$missing $$h"; \
	done; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	if [ -n "$$missing" ]; then \
	  echo "missing:$$missing"; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEPS_PKGS) >/dev/null || exit 1; \
	  else \
	    echo "run: sudo apt-get update && sudo apt-get install -y $(DEPS_PKGS)"; exit 1; \
	  fi; \
	fi

unit: all $(UNIT_BINS)
	@sh tests/run-unit.sh $(UNIT_BINS)

integration: all helpers examples
	@$(TEST_ENV) bash tests/integration/run.sh

test-deps: deps
	@missing=""; \
	for t in $(TEST_TOOLS); do \
	  command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t#*:}"; \
	done; \
	python3 -c 'import yaml' 2>/dev/null || missing="$$missing python3-yaml"; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing for the tests:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $$missing >/dev/null || exit 1; \
	elif [ -n "$$missing" ]; then \
	  echo "tests that need these will skip:$$missing"; \
	fi

test: test-deps
	@$(MAKE) --no-print-directory all helpers examples $(UNIT_BINS)
	@$(TEST_ENV) bash tests/run-all.sh $(UNIT_BINS)

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT='-O1 -g -fno-omit-frame-pointer' \
	  EXTRA_CFLAGS='-fsanitize=address,undefined -fno-sanitize-recover=all -U_FORTIFY_SOURCE' \
	  EXTRA_LDFLAGS='-fsanitize=address,undefined' test

valgrind: test-deps
	@$(MAKE) --no-print-directory all helpers examples
	@SM_VALGRIND=1 $(TEST_ENV) bash tests/integration/run.sh

demo: deps
	@$(MAKE) --no-print-directory all examples
	@sh examples/demo.sh $(BUILD)/$(PROG) $(BUILD)/examples/hello-http/hello-http

bench: deps
	@$(MAKE) --no-print-directory all helpers examples
	@$(TEST_ENV) bash bench/run.sh

# The curves of the last make bench (which it runs first if there is none),
# into docs/bench-scale.svg; gnuplot from Debian, installed when missing.
bench-plot:
	@command -v gnuplot >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends gnuplot-nox >/dev/null; } || \
	  { echo "install gnuplot: apt-get install gnuplot-nox"; exit 1; }
	@[ -s $(BUILD)/bench/results.tsv ] || $(MAKE) --no-print-directory bench
	@bash bench/plot.sh $(BUILD)/bench/results.tsv docs/bench-scale.svg

install: $(BUILD)/$(PROG) $(BUILD)/$(CTL)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BUILD)/$(PROG) $(DESTDIR)$(SBINDIR)/$(PROG)
	install -m 0755 $(BUILD)/$(CTL) $(DESTDIR)$(SBINDIR)/$(CTL)
	install -m 0644 docs/$(PROG).8 $(DESTDIR)$(MANDIR)/man8/$(PROG).8
	install -m 0644 docs/$(CTL).8 $(DESTDIR)$(MANDIR)/man8/$(CTL).8

clean:
	rm -rf build build-asan $(PROG)

-include $(OBJS:.o=.d) $(CTL_OBJS:.o=.d)

# libFuzzer targets: every parser, each run FUZZ_SECONDS from its corpus.
FUZZ_SECONDS ?= 30
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -U_FORTIFY_SOURCE

fuzz: deps
	@$(MAKE) --no-print-directory CC=clang BUILD=build-fuzz OPT='-O1 -g' \
	  EXTRA_CFLAGS='$(FUZZ_FLAGS)' fuzz-run

fuzz-run: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
	  name=$$(basename $$f); corpus=tests/fuzz/corpus/$${name#fuzz_}; \
	  mkdir -p build-fuzz/corpus/$$name; \
	  echo "== $$name ($(FUZZ_SECONDS) s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -timeout=10 \
	    -artifact_prefix=build-fuzz/ build-fuzz/corpus/$$name $$corpus >build-fuzz/$$name.log 2>&1 \
	    || { grep -E 'ERROR|SUMMARY|artifact' build-fuzz/$$name.log; echo "FUZZ FAILED: $$name"; exit 1; }; \
	  grep -E 'stat::number_of_executed_units' build-fuzz/$$name.log; \
	done; echo "fuzz: all targets ran clean"

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIBOBJS) | $(BUILD)
	$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer,address,undefined -o $@ $< $(LIBOBJS) $(LIBS)

# Static checks: cppcheck, clang-tidy (.clang-tidy), clang-format
# (.clang-format) and the hardening of the built binary.
LINT_SRCS := $(wildcard src/*.c src/ctl/*.c include/sentrik/*.h tests/unit/*.c tests/fuzz/*.c)

lint: all
	@echo "== cppcheck"
	@cppcheck --enable=warning,performance,portability --inline-suppr --error-exitcode=1 \
	  --quiet --std=c11 -D_GNU_SOURCE -DSM_VERSION='"$(VERSION)"' -Iinclude src/
	@echo "== clang-tidy"
	@clang-tidy --quiet $(wildcard src/*.c src/ctl/*.c) -- -std=c11 -D_GNU_SOURCE -Iinclude \
	  -DSM_VERSION='"$(VERSION)"' 2>/dev/null | { ! grep -E 'error:|warning:'; }
	@echo "== clang-format"
	@clang-format --dry-run -Werror $(LINT_SRCS)
	@echo "== hardening"
	@readelf -h $(BUILD)/$(PROG) | grep -q 'DYN' || { echo "not PIE"; exit 1; }
	@readelf -d $(BUILD)/$(PROG) | grep -q 'BIND_NOW' || { echo "no BIND_NOW"; exit 1; }
	@readelf -lW $(BUILD)/$(PROG) | grep -q 'GNU_RELRO' || { echo "no RELRO"; exit 1; }
	@readelf -sW --dyn-syms $(BUILD)/$(PROG) | grep -q '__stack_chk_fail' || { echo "no stack protector"; exit 1; }
	@readelf -sW --dyn-syms $(BUILD)/$(PROG) | grep -q '_chk@' || { echo "not fortified"; exit 1; }
	@echo "lint: clean"
