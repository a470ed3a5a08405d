/*-------------------------------------------------------------------------
 *
 * answer.c
 *		Read an IAI API 3.0 answer with PostgreSQL's JSON parser.
 *
 * One streaming pass with semantic actions picks out Response.RequestId
 * and Response.Error.{Code,Message}; nothing else of the document is kept,
 * so the common path never builds a jsonb.  Duplicate keys resolve as in
 * jsonb (the last one wins).  The same parser validates the whole text:
 * anything that is not JSON, or not UTF-8, or holds \u0000, is refused.
 *
 * The backend's JSON parser turns a \u escape into a character of the
 * database's encoding, and raises an error when that encoding has no such
 * character (or, in SQL_ASCII, for any character beyond ASCII).  Nothing the
 * service sends may raise such an error, so before parsing, every \u escape
 * of a character beyond ASCII is written out as that character in UTF-8:
 * the parser then sees only UTF-8 text and ASCII escapes, and every string
 * it hands back is UTF-8, whatever the database's encoding.
 *
 * Compiles as backend code and, with FRONTEND defined, against
 * libpgcommon for the fuzz target.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <limits.h>

#include "common/jsonapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"

#include "answer.h"

/* Semantic actions return a status from PostgreSQL 16 on. */
#if PG_VERSION_NUM >= 160000
#define SEM_ACTION JsonParseErrorType
#define SEM_DONE return JSON_SUCCESS
#else
#define SEM_ACTION void
#define SEM_DONE return
#endif

/* Where the answer's parse is, and what it found. */
typedef struct ParseState
{
	IaiJsonWalk walk;			/* first: the callbacks get its address */
	bool		has_response;
	IaiAnswer  *answer;
} ParseState;

static bool
at(ParseState *s, int depth, const char *k1, const char *k2, const char *k3)
{
	char	  **key = s->walk.key;

	if (s->walk.depth != depth)
		return false;
	return (k1 == NULL || (key[1] && strcmp(key[1], k1) == 0)) &&
		(k2 == NULL || (key[2] && strcmp(key[2], k2) == 0)) &&
		(k3 == NULL || (key[3] && strcmp(key[3], k3) == 0));
}

static void
replace(char **slot, char *value)
{
	if (*slot)
		pfree(*slot);
	*slot = value;
}

/*
 * A value starts at the current position: forget what it replaces, and
 * note the objects that an answer must or may have.
 */
static void
value_starts(IaiJsonWalk *walk, JsonTokenType type)
{
	ParseState *s = (ParseState *) walk;
	IaiAnswer  *a = s->answer;

	if (at(s, 1, "Response", NULL, NULL))
	{
		s->has_response = false;
		replace(&a->request_id, NULL);
		a->has_error = false;
		replace(&a->code, NULL);
		replace(&a->message, NULL);
	}
	else if (at(s, 2, "Response", "RequestId", NULL))
		replace(&a->request_id, NULL);
	else if (at(s, 2, "Response", "Error", NULL))
	{
		a->has_error = false;
		replace(&a->code, NULL);
		replace(&a->message, NULL);
	}
	else if (at(s, 3, "Response", "Error", "Code"))
		replace(&a->code, NULL);
	else if (at(s, 3, "Response", "Error", "Message"))
		replace(&a->message, NULL);

	if (type != JSON_TOKEN_OBJECT_START)
		return;
	if (at(s, 1, "Response", NULL, NULL))
		s->has_response = true;
	else if (at(s, 2, "Response", "Error", NULL))
		a->has_error = true;
}

static void
scalar(IaiJsonWalk *walk, char *token, JsonTokenType type)
{
	ParseState *s = (ParseState *) walk;
	IaiAnswer  *a = s->answer;
	char	  **slot = NULL;

	if (type == JSON_TOKEN_STRING)
	{
		if (at(s, 2, "Response", "RequestId", NULL))
			slot = &a->request_id;
		else if (at(s, 3, "Response", "Error", "Code"))
			slot = &a->code;
		else if (at(s, 3, "Response", "Error", "Message"))
			slot = &a->message;
	}
	if (slot)
		replace(slot, token);
	else if (token)
		pfree(token);
}

/* ---- the walk: the parser's semantic actions ---- */

static void
forget_key(IaiJsonWalk *w, int depth)
{
	if (depth <= IAI_JSON_DEPTH && w->key[depth])
	{
		pfree(w->key[depth]);
		w->key[depth] = NULL;
	}
}

/* An array or an object starts: one level deeper, with no key yet. */
static void
enter(IaiJsonWalk *w, JsonTokenType type)
{
	w->value_starts(w, type);
	w->depth++;
	forget_key(w, w->depth);
}

static SEM_ACTION
walk_array_start(void *state)
{
	enter(state, JSON_TOKEN_ARRAY_START);
	SEM_DONE;
}

static SEM_ACTION
walk_object_start(void *state)
{
	IaiJsonWalk *w = state;

	if (w->depth == 0)
		w->top_is_object = true;
	enter(w, JSON_TOKEN_OBJECT_START);
	SEM_DONE;
}

static SEM_ACTION
walk_container_end(void *state)
{
	IaiJsonWalk *w = state;

	forget_key(w, w->depth);
	w->depth--;
	SEM_DONE;
}

static SEM_ACTION
walk_field_start(void *state, char *fname, bool isnull)
{
	IaiJsonWalk *w = state;

	if (w->depth <= IAI_JSON_DEPTH)
	{
		forget_key(w, w->depth);
		w->key[w->depth] = fname;	/* kept until the next key or the end */
	}
	else
		pfree(fname);
	SEM_DONE;
}

static SEM_ACTION
walk_scalar(void *state, char *token, JsonTokenType type)
{
	IaiJsonWalk *w = state;

	w->value_starts(w, type);
	w->scalar(w, token, type);
	SEM_DONE;
}

/* The value of the 4 hex digits at p (n bytes available), or -1. */
static int
hex4(const char *p, size_t n)
{
	int			v = 0;

	if (n < 4)
		return -1;
	for (int i = 0; i < 4; i++)
	{
		char		c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

char *
iai_unescape_non_ascii(const char *text, size_t len, size_t *outlen)
{
	/* an escape is never shorter than the UTF-8 it stands for */
	char	   *out = palloc(len + 1);
	size_t		o = 0;
	size_t		i = 0;

	while (i < len)
	{
		int			cp;
		size_t		used = 6;

		if (text[i] != '\\' || i + 1 >= len)
		{
			out[o++] = text[i++];
			continue;
		}
		if (text[i + 1] != 'u' || (cp = hex4(text + i + 2, len - i - 2)) < 0x80)
		{
			/* another escape, or one the parser handles alike everywhere */
			out[o++] = text[i++];
			out[o++] = text[i++];
			continue;
		}
		if (cp >= 0xD800 && cp <= 0xDBFF)
		{
			int			lo = -1;

			if (i + 12 <= len && text[i + 6] == '\\' && text[i + 7] == 'u')
				lo = hex4(text + i + 8, 4);
			if (lo >= 0xDC00 && lo <= 0xDFFF)
			{
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				used = 12;
			}
			else
				cp = 0xFFFD;	/* a lone surrogate is no character */
		}
		else if (cp >= 0xDC00 && cp <= 0xDFFF)
			cp = 0xFFFD;
		unicode_to_utf8((pg_wchar) cp, (unsigned char *) out + o);
		/* (pg_utf_mblen is not in the frontend library of PostgreSQL 17+) */
		o += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		i += used;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/*
 * Run the server's JSON parser (its frontend build in the fuzz target) over
 * body with the callbacks in sem.  The lexer's copy of the last string is
 * wiped, as it may hold a credential.  The lexer's interface changed in
 * PostgreSQL 17; this hides the change.
 */
static JsonParseErrorType
run_json_parser(const char *body, size_t len, JsonSemAction *sem)
{
	JsonLexContext *lex;
	JsonParseErrorType rc;

	/* the lexer's lengths are int; callers refuse longer text before */
	Assert(len <= INT_MAX);
#if PG_VERSION_NUM >= 170000
	lex = makeJsonLexContextCstringLen(NULL, body, len, PG_UTF8, true);
	rc = pg_parse_json(lex, sem);
	if (lex->strval)
		explicit_bzero(lex->strval->data, lex->strval->maxlen);
	freeJsonLexContext(lex);
#else
	lex = makeJsonLexContextCstringLen((char *) body, (int) len, PG_UTF8, true);
	rc = pg_parse_json(lex, sem);
	if (lex->strval)
	{
		explicit_bzero(lex->strval->data, lex->strval->maxlen);
		pfree(lex->strval->data);
		pfree(lex->strval);
	}
	pfree(lex);
#endif
	return rc;
}

JsonParseErrorType
iai_walk_json(const char *body, size_t len, IaiJsonWalk *walk)
{
	JsonSemAction sem;
	JsonParseErrorType rc;

	walk->depth = 0;
	memset(walk->key, 0, sizeof(walk->key));
	walk->top_is_object = false;
	memset(&sem, 0, sizeof(sem));
	sem.semstate = walk;
	sem.object_start = walk_object_start;
	sem.object_end = walk_container_end;
	sem.array_start = walk_array_start;
	sem.array_end = walk_container_end;
	sem.object_field_start = walk_field_start;
	sem.scalar = walk_scalar;

	rc = run_json_parser(body, len, &sem);
	for (int d = 1; d <= IAI_JSON_DEPTH; d++)
		forget_key(walk, d);
	return rc;
}

const char *
iai_parse_answer(const char *body, size_t len, IaiAnswer *answer)
{
	ParseState	state;
	JsonParseErrorType rc;

	memset(answer, 0, sizeof(*answer));
	if (len == 0)
		return "the body is empty";
	if (len > INT_MAX || memchr(body, '\0', len) != NULL ||
		pg_encoding_verifymbstr(PG_UTF8, body, (int) len) != (int) len)
		return "it is not JSON";

	/* from here on, only ASCII escapes are left for the parser */
	body = answer->text = iai_unescape_non_ascii(body, len, &len);
	answer->text_len = len;

	memset(&state, 0, sizeof(state));
	state.walk.value_starts = value_starts;
	state.walk.scalar = scalar;
	state.answer = answer;
	rc = iai_walk_json(body, len, &state.walk);

	if (rc != JSON_SUCCESS)
		return "it is not JSON";
	if (!state.walk.top_is_object || !state.has_response)
		return "it has no Response object";
	if (answer->request_id == NULL || answer->request_id[0] == '\0')
		return "it has no RequestId";
	if (answer->has_error && (answer->code == NULL || answer->code[0] == '\0'))
		return "its Error has no Code";
	return NULL;
}
