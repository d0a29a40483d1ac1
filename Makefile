# tocsin - build, test, benchmark, fuzz.
#   make deps      install the Debian packages tocsin and its tests need
#   make           build ./tocsin
#   make demo      deps + build + run the bundled example
#   make test      deps + build + unit and integration tests, plain, under
#                  ASan+UBSan and under TSan, plus a short fuzz smoke
#   make bench     benchmarks (print their figures)
#   make fuzz      libFuzzer targets, FUZZ_SECONDS each (default 60)

CC      ?= cc
PKGS     = libcurl libcjson sqlite3 yaml-0.1 libmicrohttpd libcrypto
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla -Wno-format-nonliteral
WERROR  ?= -Werror
OPT     ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(WERROR) \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
TSAN     = -fsanitize=thread

LIB_SRC  = $(sort $(wildcard common/*.c rules/*.c ingest/*.c store/*.c notifiers/*.c daemon/*.c report/*.c))
CMD_SRC  = $(sort $(wildcard cmd/*.c))
TEST_SRC = $(sort $(wildcard tests/check_*.c))

# Partial builds while a module is under work:
#   make B=build/mine LIBS_ONLY="common/% ingest/%" ONLY="common ingest" build/mine/check_tocsin
ifneq ($(LIBS_ONLY),)
LIB_SRC := $(filter $(LIBS_ONLY),$(LIB_SRC))
endif
ifneq ($(ONLY),)
TEST_SRC := $(foreach m,$(ONLY),tests/check_$(m).c)
endif

# One object folder per build variant.
B        = build/plain
BA       = build/asan
BT       = build/tsan

LIB_OBJ  = $(LIB_SRC:%.c=$(B)/%.o)
CMD_OBJ  = $(CMD_SRC:%.c=$(B)/%.o)
TEST_OBJ = $(TEST_SRC:%.c=$(B)/%.o)
LIB_OBJA = $(LIB_SRC:%.c=$(BA)/%.o)
CMD_OBJA = $(CMD_SRC:%.c=$(BA)/%.o)
TEST_OBJA= $(TEST_SRC:%.c=$(BA)/%.o)
LIB_OBJT = $(LIB_SRC:%.c=$(BT)/%.o)
CMD_OBJT = $(CMD_SRC:%.c=$(BT)/%.o)
TEST_OBJT= $(TEST_SRC:%.c=$(BT)/%.o)

.PHONY: all deps demo test test-unit test-asan test-tsan test-integration \
        test-fuzz-smoke \
        bench fuzz format format-check valgrind clean

all: tocsin

# Replaced by rename, so a running ./tocsin never blocks the build.
tocsin: $(B)/tocsin
	cp $< $@.tmp && mv -f $@.tmp $@

$(B)/tocsin: $(CMD_OBJ) $(B)/libtocsin.a
	$(CC) $(CFLAGS) -o $@ $(CMD_OBJ) $(B)/libtocsin.a $(LDLIBS)

$(B)/libtocsin.a: $(LIB_OBJ)
	rm -f $@; ar rcs $@ $^

# V=1 shows the full compiler command lines.
Q = $(if $(V),,@)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BA)/tocsin: $(CMD_OBJA) $(BA)/libtocsin.a
	$(CC) $(CFLAGS) $(SAN) -o $@ $(CMD_OBJA) $(BA)/libtocsin.a $(LDLIBS)

$(BA)/libtocsin.a: $(LIB_OBJA)
	rm -f $@; ar rcs $@ $^

$(BA)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $< (asan)")
	$(Q)$(CC) $(CFLAGS) $(SAN) -MMD -MP -c -o $@ $<

$(BT)/tocsin: $(CMD_OBJT) $(BT)/libtocsin.a
	$(CC) $(CFLAGS) $(TSAN) -o $@ $(CMD_OBJT) $(BT)/libtocsin.a $(LDLIBS)

$(BT)/libtocsin.a: $(LIB_OBJT)
	rm -f $@; ar rcs $@ $^

$(BT)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $< (tsan)")
	$(Q)$(CC) $(CFLAGS) $(TSAN) -MMD -MP -c -o $@ $<

# Suites are found by name, not declared in a header.
$(TEST_OBJ) $(TEST_OBJA) $(TEST_OBJT): CFLAGS += -Wno-missing-prototypes

# The unit-test runner: every tests/check_*.c exports Suite *NAME_suite(void).
$(B)/tests/suites.h $(BA)/tests/suites.h $(BT)/tests/suites.h: $(TEST_SRC)
	@mkdir -p $(dir $@)
	sed -n 's/^Suite \*\([a-z0-9_]*_suite\)(void)$$/SUITE(\1)/p' $(TEST_SRC) > $@

$(B)/check_tocsin: tests/runner.c $(B)/tests/suites.h $(TEST_OBJ) $(B)/libtocsin.a
	$(CC) $(CFLAGS) -I$(B)/tests -o $@ tests/runner.c $(TEST_OBJ) $(B)/libtocsin.a $(CHECK_LIBS) $(LDLIBS)

$(BA)/check_tocsin: tests/runner.c $(BA)/tests/suites.h $(TEST_OBJA) $(BA)/libtocsin.a
	$(CC) $(CFLAGS) $(SAN) -I$(BA)/tests -o $@ tests/runner.c $(TEST_OBJA) $(BA)/libtocsin.a $(CHECK_LIBS) $(LDLIBS)

$(BT)/check_tocsin: tests/runner.c $(BT)/tests/suites.h $(TEST_OBJT) $(BT)/libtocsin.a
	$(CC) $(CFLAGS) $(TSAN) -I$(BT)/tests -o $@ tests/runner.c $(TEST_OBJT) $(BT)/libtocsin.a $(CHECK_LIBS) $(LDLIBS)

deps:
	@sh .ci/deps.sh

demo: deps tocsin
	sh examples/demo.sh

test: deps
	$(MAKE) test-unit test-asan test-tsan test-integration test-fuzz-smoke
	@echo "make test: all passed"

test-unit: $(B)/check_tocsin tocsin
	cd tests && TOCSIN=$(CURDIR)/tocsin ../$(B)/check_tocsin

test-asan: $(BA)/check_tocsin $(BA)/tocsin
	cd tests && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  TOCSIN=$(CURDIR)/$(BA)/tocsin ../$(BA)/check_tocsin
	TOCSIN=$(CURDIR)/$(BA)/tocsin ASAN_OPTIONS=detect_leaks=1 sh tests/integration/run.sh --quick

# ThreadSanitizer: the daemon's threads and the dispatcher's sender threads.
# tests/tsan.supp names the reports that are not ours (glibc internals).
test-tsan: $(BT)/check_tocsin $(BT)/tocsin
	cd tests && TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	  TOCSIN=$(CURDIR)/$(BT)/tocsin ../$(BT)/check_tocsin
	TOCSIN=$(CURDIR)/$(BT)/tocsin \
	  TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	  sh tests/integration/run.sh --quick

test-integration: tocsin
	TOCSIN=$(CURDIR)/tocsin sh tests/integration/run.sh

valgrind: $(B)/check_tocsin
	cd tests && CK_FORK=no valgrind --error-exitcode=1 --leak-check=full \
	  ../$(B)/check_tocsin

FUZZ_TARGETS = $(patsubst fuzz/%.c,build/fuzz/%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
# libFuzzer's seed: 0 draws one at random (make fuzz explores); the smoke in
# make test uses a fixed one, so a clean checkout fuzzes the same inputs on
# every run and a failure there points at the change, not at the draw.
FUZZ_SEED ?= 0
FUZZ_LIB_SRC = $(filter-out daemon/%,$(LIB_SRC))

FUZZ_LIB_OBJ = $(FUZZ_LIB_SRC:%.c=build/fuzz/obj/%.o)
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 $(shell pkg-config --cflags $(PKGS))

# The library is instrumented and compiled once for every target.
build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $< (fuzz)")
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
	  -MMD -MP -c -o $@ $<

build/fuzz/libfuzz.a: $(FUZZ_LIB_OBJ)
	rm -f $@; ar rcs $@ $^

build/fuzz/%: fuzz/%.c fuzz/fuzz.h build/fuzz/libfuzz.a
	@mkdir -p build/fuzz
	@$(if $(V),,echo "  FUZZ    $<")
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined \
	  -o $@ $< build/fuzz/libfuzz.a $(LDLIBS)

# A crash, leak, timeout or out-of-memory fails the target; the input that
# caused it is kept in build/fuzz/ (artifact_prefix).
fuzz: $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do \
	  n=$$(basename $$t); mkdir -p build/fuzz/corpus-$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
	  if ! $$t -seed=$(FUZZ_SEED) -max_total_time=$(FUZZ_SECONDS) \
	      -max_len=65600 -rss_limit_mb=2048 \
	      -artifact_prefix=build/fuzz/$$n- build/fuzz/corpus-$$n fuzz/seeds/$$n \
	      > build/fuzz/$$n.log 2>&1; then \
	    tail -n 30 build/fuzz/$$n.log; echo "fuzz: $$n FAILED"; exit 1; \
	  fi; \
	  tail -n 1 build/fuzz/$$n.log; \
	done

test-fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=10 FUZZ_SEED=1

BENCH_BIN = $(patsubst bench/%.c,build/bench/%,$(wildcard bench/*.c))

build/bench/%: bench/%.c $(B)/libtocsin.a
	@mkdir -p build/bench
	$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $< $(B)/libtocsin.a $(LDLIBS)

bench: tocsin $(BENCH_BIN)
	sh bench/run.sh

FORMAT_SRC = $(LIB_SRC) $(CMD_SRC) $(TEST_SRC) tests/runner.c \
             $(wildcard fuzz/*.c fuzz/*.h bench/*.c) \
             $(wildcard common/*.h rules/*.h ingest/*.h store/*.h \
               notifiers/*.h daemon/*.h report/*.h cmd/*.h)

format:
	clang-format -i $(FORMAT_SRC)

format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf build tocsin

-include $(shell find build -name '*.d' 2>/dev/null)
