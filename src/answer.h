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

typedef struct IaiAnswer
{
	char	   *request_id;		/* Response.RequestId if a string, else NULL */
	bool		has_error;		/* Response.Error is an object */
	char	   *code;			/* Response.Error.Code if a string, else NULL */
	char	   *message;		/* Response.Error.Message if a string, else NULL */
} IaiAnswer;

/*
 * Parse body (len bytes of UTF-8).  Returns NULL when it is a usable answer
 * (a Response object with a RequestId, and a Code if it has an Error), or
 * what is wrong with it, for a message.  Strings are palloc'd.
 */
extern const char *iai_parse_answer(const char *body, size_t len, IaiAnswer *answer);

#endif							/* IAI_ANSWER_H */
