/*-------------------------------------------------------------------------
 *
 * answer_fuzz.c
 *		libFuzzer target: the answer parser (src/answer.c) and the error
 *		mapper (src/errmap.c) on arbitrary bytes.
 *
 * Whatever arrives from the network must never crash, hang or leak: the
 * parser either returns a usable answer or says what is wrong, and every
 * code it extracts maps to some SQLSTATE.  Built against libpgcommon (the
 * frontend build of PostgreSQL's JSON parser); see the Makefile's fuzz
 * targets.
 *
 * palloc and friends are replaced by an arena freed after each input, as a
 * backend memory context is after each call: the JSON parser itself leaves
 * some strings behind when it stops at a syntax error.  The arena still
 * checks that nothing is freed twice or was never allocated.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <stddef.h>

#include "answer.h"
#include "errmap.h"
#include "mb/pg_wchar.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- an arena standing in for a memory context ---- */

typedef struct Chunk
{
	struct Chunk *next;
	struct Chunk *prev;
	size_t		size;
	max_align_t data[];
} Chunk;

static Chunk *arena = NULL;

static Chunk *
chunk_of(void *p)
{
	return (Chunk *) ((char *) p - offsetof(Chunk, data));
}

void *
palloc(Size size)
{
	Chunk	   *c = malloc(sizeof(Chunk) + size);

	if (c == NULL)
		abort();
	c->size = size;
	c->prev = NULL;
	c->next = arena;
	if (arena)
		arena->prev = c;
	arena = c;
	return c->data;
}

void *
palloc0(Size size)
{
	return memset(palloc(size), 0, size);
}

void *
palloc_extended(Size size, int flags)
{
	return (flags & MCXT_ALLOC_ZERO) ? palloc0(size) : palloc(size);
}

void
pfree(void *p)
{
	Chunk	   *c = chunk_of(p);

	if (c->prev)
		c->prev->next = c->next;
	else
		arena = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

void *
repalloc(void *p, Size size)
{
	void	   *n = palloc(size);
	Chunk	   *c = chunk_of(p);

	memcpy(n, p, Min(size, c->size));
	pfree(p);
	return n;
}

char *
pstrdup(const char *s)
{
	return strcpy(palloc(strlen(s) + 1), s);
}

static void
arena_reset(void)
{
	while (arena)
	{
		Chunk	   *next = arena->next;

		free(arena);
		arena = next;
	}
}

/* NULL, or valid UTF-8: what the backend converts to the database's encoding */
static bool
utf8_or_null(const char *s)
{
	return s == NULL || pg_encoding_verifymbstr(PG_UTF8, s, strlen(s)) == (int) strlen(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	IaiAnswer	a;
	const char *problem = iai_parse_answer((const char *) data, size, &a);

	if (problem == NULL)
	{
		/* a usable answer has a RequestId, and a Code when it has an Error */
		if (a.request_id == NULL || (a.has_error && a.code == NULL))
			__builtin_trap();
		if (a.code != NULL && iai_classify_error(a.code).sqlstate == 0)
			__builtin_trap();
		/* strings and the text for jsonb are UTF-8, the text no longer */
		if (!utf8_or_null(a.request_id) || !utf8_or_null(a.code) ||
			!utf8_or_null(a.message) || !utf8_or_null(a.text) ||
			a.text_len > size || strlen(a.text) != a.text_len)
			__builtin_trap();
	}
	arena_reset();
	return 0;
}
