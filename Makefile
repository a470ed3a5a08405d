# iai: Tencent Cloud Face Recognition (IAI) calls from PostgreSQL

MODULE_big = iai
OBJS = \
	src/iai.o \
	src/settings.o \
	src/api.o \
	src/answer.o \
	src/errmap.o \
	src/http.o \
	src/tc3.o \
	src/trigger.o \
	src/shmem.o \
	src/throttle.o \
	src/queue.o \
	src/worker.o

EXTENSION = iai
DATA = sql/iai--1.0.sql
PGFILEDESC = "iai - Tencent Cloud Face Recognition calls from SQL"

REGRESS = setup call errors input retry trigger async privileges tls
REGRESS_OPTS = --inputdir=. --load-extension=iai

PG_CPPFLAGS = -I$(srcdir)/src
SHLIB_LINK = -lcurl -lcrypto
EXTRA_CLEAN = test/tc3_kat

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Callbacks (GUC hooks, libcurl) have fixed signatures with parameters they
# do not need, and some server headers trip -Wunused-parameter under -Wextra.
override CFLAGS += -Wno-unused-parameter

# The signer's known-answer test links src/tc3.c alone: no server, no libcurl.
test/tc3_kat: test/tc3_kat.c src/tc3.c src/tc3.h
	$(CC) $(CFLAGS) -I$(srcdir)/src -o $@ test/tc3_kat.c src/tc3.c -lcrypto

.PHONY: kat
kat: test/tc3_kat
	$${PYTHON:-python3} test/tc3_kat.py test/tc3_kat test/tc3-vectors.json test/tc3-doc-examples.json
