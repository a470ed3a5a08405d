# iai: Tencent Cloud Face Recognition (IAI) calls from PostgreSQL

MODULE_big = iai
OBJS = \
	src/iai.o \
	src/settings.o \
	src/credentials.o \
	src/credcache.o \
	src/credfetch.o \
	src/api.o \
	src/answer.o \
	src/errmap.o \
	src/http.o \
	src/tc3.o \
	src/trigger.o \
	src/shmem.o \
	src/throttle.o \
	src/queue.o \
	src/launcher.o \
	src/worker.o \
	src/stats.o \
	src/redact.o

EXTENSION = iai
# One install script is kept by hand (1.0) with the upgrade scripts; the
# newest full script is made from them (see the upgrade test).
DATA = sql/iai--1.0.sql sql/iai--1.0--1.1.sql sql/iai--1.1--1.2.sql
DATA_built = sql/iai--1.2.sql
PGFILEDESC = "iai - Tencent Cloud Face Recognition calls from SQL"

REGRESS = setup loadmode call errors input retry trigger async stats privileges tls rolecreds security upgrade encoding settings
REGRESS_OPTS = --inputdir=. --load-extension=iai

PG_CPPFLAGS = -I$(srcdir)/src
SHLIB_LINK = -lcurl -lcrypto
EXTRA_CLEAN = test/tc3_kat test/fuzz/answer_fuzz test/fuzz/tc3_fuzz

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# After PGXS, so that its "all" stays the default goal.
sql/iai--1.2.sql: sql/iai--1.0.sql sql/iai--1.0--1.1.sql sql/iai--1.1--1.2.sql
	( echo '/* iai--1.2.sql: made by "make" from the scripts below; do not edit */'; \
	  for f in $^; do echo; echo "-- from $$f"; grep -v '^\\echo ' $$f; done ) > $@

# A VPATH build (Debian's pg_buildext) needs the object directory.
ifdef VPATH
$(shell mkdir -p src sql)
endif

# Callbacks (GUC hooks, libcurl) have fixed signatures with parameters they
# do not need, and some server headers trip -Wunused-parameter under -Wextra.
override CFLAGS += -Wno-unused-parameter

# The signer's known-answer test links src/tc3.c alone: no server, no libcurl.
test/tc3_kat: test/tc3_kat.c src/tc3.c src/tc3.h
	$(CC) $(CFLAGS) -I$(srcdir)/src -o $@ test/tc3_kat.c src/tc3.c -lcrypto

.PHONY: kat
kat: test/tc3_kat
	$${PYTHON:-python3} test/tc3_kat.py test/tc3_kat test/tc3-vectors.json test/tc3-doc-examples.json

# libFuzzer targets (clang, libclang-rt-dev): the answer parser and error
# mapper, linked with libpgcommon (the frontend build of the server's JSON
# parser), and the signer.  "make fuzz" runs each for FUZZ_SECONDS from the
# corpus in test/fuzz/corpus, writing what it discovers to a scratch dir.
FUZZ_CC ?= clang
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Wno-ignored-attributes
FUZZ_SECONDS ?= 30
PG_PKGLIBDIR := $(shell $(PG_CONFIG) --pkglibdir)

test/fuzz/answer_fuzz: test/fuzz/answer_fuzz.c src/answer.c src/errmap.c src/answer.h src/errmap.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -DFRONTEND -I$(srcdir)/src -I$(includedir_server) -o $@ \
		test/fuzz/answer_fuzz.c src/answer.c src/errmap.c \
		$(PG_PKGLIBDIR)/libpgcommon.a $(PG_PKGLIBDIR)/libpgport.a

test/fuzz/tc3_fuzz: test/fuzz/tc3_fuzz.c src/tc3.c src/tc3.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -I$(srcdir)/src -o $@ test/fuzz/tc3_fuzz.c src/tc3.c -lcrypto

# The regression suite against a server under valgrind (memcheck).
.PHONY: valgrind-check
valgrind-check:
	bash test/valgrind

.PHONY: fuzz
fuzz: test/fuzz/answer_fuzz test/fuzz/tc3_fuzz
	@set -e; for t in answer tc3; do \
		scratch=$$(mktemp -d); \
		echo "== fuzzing $$t for $(FUZZ_SECONDS) s"; \
		if ! ./test/fuzz/$${t}_fuzz -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$$scratch/ \
			$$scratch test/fuzz/corpus/$$t > $$scratch/log 2>&1; then \
			tail -n 40 $$scratch/log; echo "fuzz target $$t failed; see $$scratch"; exit 1; \
		fi; \
		grep -E '^#[0-9]+.*DONE|stat::number_of_executed_units' $$scratch/log; \
		rm -rf $$scratch; \
	done
