/*-------------------------------------------------------------------------
 *
 * answer.h
 *		Read an IAI API 3.0 answer: {"Response": {"RequestId": ...,
 *		"Error": {"Code": ..., "Message": ...}}}.
 *
 * Built on PostgreSQL's own JSON parser (common/jsonapi), without the
 * backend, so the fuzz target can link it with libpgcommon.
 *
 *-------------------------------------------------------------------------
 */
#ifndef IAI_ANSWER_H
#define IAI_ANSWER_H

#include "common/jsonapi.h"

typedef struct IaiAnswer
{
	char	   *request_id;		/* Response.RequestId if a string, else NULL */
	bool		has_error;		/* Response.Error is an object */
	char	   *code;			/* Response.Error.Code if a string, else NULL */
	char	   *message;		/* Response.Error.Message if a string, else
								 * NULL */
	char	   *text;			/* the body as parsed: see
								 * iai_unescape_non_ascii */
	size_t		text_len;
} IaiAnswer;

/*
 * Parse body (len bytes of UTF-8).  Returns NULL when it is a usable answer
 * (a Response object with a RequestId, and a Code if it has an Error), or
 * what is wrong with it, for a message.  Strings are palloc'd and always
 * UTF-8, whatever the database's encoding; so is text, once set.
 */
extern const char *iai_parse_answer(const char *body, size_t len, IaiAnswer *answer);

#define IAI_JSON_DEPTH 3

/*
 * One streaming pass of the server's JSON parser that keeps track of where
 * it is: the key at each object level down to IAI_JSON_DEPTH.  A caller
 * puts it first in a state of its own and sets the two callbacks.
 */
typedef struct IaiJsonWalk
{
	int			depth;			/* 1 inside the top-level value, and so on */
	char	   *key[IAI_JSON_DEPTH + 1];	/* key[1] is a top-level key; NULL
											 * inside arrays */
	bool		top_is_object;

	/*
	 * A value starts where depth and key say (an object or an array: before
	 * it is entered); type is that of its first token.  A duplicate key's
	 * value replaces the earlier one from here on.
	 */
	void		(*value_starts) (struct IaiJsonWalk *walk, JsonTokenType type);

	/*
	 * A scalar, after value_starts: its text (palloc'd, or NULL) is the
	 * callback's to keep or free.
	 */
	void		(*scalar) (struct IaiJsonWalk *walk, char *token, JsonTokenType type);
} IaiJsonWalk;

/*
 * Walk body, UTF-8 of at most INT_MAX bytes, calling walk's callbacks.
 * The lexer's copy of the last string is wiped, as it may hold a
 * credential; the keys are freed at the end.  Returns the parser's verdict.
 */
extern JsonParseErrorType iai_walk_json(const char *body, size_t len,
										IaiJsonWalk *walk);

/*
 * JSON text (len bytes of UTF-8) with every \u escape of a character
 * beyond ASCII replaced by that character in UTF-8 (a surrogate pair by the
 * one character it encodes, a lone surrogate by U+FFFD), so that parsing it
 * never converts an escape to the database's encoding.  ASCII escapes and
 * everything else are kept as they are.  Returns a palloc'd, NUL-terminated
 * copy, never longer than the input; *outlen is its length.
 */
extern char *iai_unescape_non_ascii(const char *text, size_t len, size_t *outlen);

#endif							/* IAI_ANSWER_H */
