/*-------------------------------------------------------------------------
 *
 * api.h
 *		Face Recognition (IAI) API 3.0 calls: validate, build, sign, send,
 *		interpret.
 *
 *-------------------------------------------------------------------------
 */
#ifndef IAI_API_H
#define IAI_API_H

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "compat.h"

#define IAI_SERVICE "iai"
#define IAI_VERSION "2018-03-01"
#define IAI_ACTION_DELETE_PERSON_FROM_GROUP "DeletePersonFromGroup"
#define IAI_MAX_ID_BYTES 64

/* iai_api_call flags */
#define IAI_MISSING_OK 0x01		/* the person already being gone is success */
#define IAI_WANT_RESPONSE 0x02	/* return the Response object as jsonb */
#define IAI_PARAMS_CHECKED 0x04 /* params come from iai_person_group_params(),
								 * which validated them */

/* What kind of failure ended a call. */
typedef enum IaiFailureKind
{
	IAI_FAILED_INPUT,			/* refused before sending: bad input */
	IAI_FAILED_API,				/* the service answered Response.Error */
	IAI_FAILED_TRANSPORT,		/* no complete answer: DNS, connect, TLS,
								 * timeout, connection lost */
	IAI_FAILED_ANSWER,			/* an HTTP status other than 200, or an
								 * unusable answer */
	IAI_FAILED_LOCAL			/* raised here: credentials, settings, rate
								 * limit deadline, cancel, ... */
} IaiFailureKind;

/*
 * Why a call failed, as data, so that no caller need read message text.
 * Filled by iai_api_call() before it raises; the strings live in the
 * caller's memory context.
 */
typedef struct IaiFailure
{
	bool		failed;
	IaiFailureKind kind;
	int			sqlstate;		/* of the error raised */
	char	   *code;			/* the API's code (also for input refused
								 * before sending), or NULL */
	char	   *request_id;		/* NULL without an answer */
	char	   *message;		/* the error's message */
	bool		retryable;		/* another attempt may succeed */
	bool		maybe_sent;		/* the request may have taken effect */
	bool		outage;			/* not about this call: the service, the
								 * network, the account or the settings */
} IaiFailure;

typedef struct IaiResult
{
	Jsonb	   *response;		/* the Response object, with IAI_WANT_RESPONSE */
	char	   *request_id;
	char	   *accepted_code;	/* error code taken as success (missing_ok) */
	int			attempts;
	IaiFailure	failure;		/* set when the call raised */
} IaiResult;

/*
 * Raise, before sending, the error the service would give for bad input;
 * param names the id whose rules the hint should recall, or is NULL.
 */
pg_noreturn extern void iai_input_error(const char *code, const char *message,
										const char *param);

/* Raise the API's own error for an invalid PersonId/GroupId (NULL is missing). */
extern void iai_check_id(const char *param, const char *value);

/*
 * Called just before each request is handed to the network (the queue
 * worker notes that its claimed row is no longer unsent); NULL for none.
 */
extern void (*iai_before_send_hook) (void);

/*
 * Make one signed call; raises on any failure that is not accepted, after
 * describing it in result->failure.
 */
extern void iai_api_call(const char *action, Jsonb *params, int flags,
						 IaiResult *result);

/*
 * One attempt at a call, for callers that keep many in flight (the queue
 * worker): iai_attempt_prepare() validates and serialises (raises for bad
 * input, described in result->failure); iai_attempt_send() signs it and
 * starts its request in http.c's pool, under tag, without waiting (the
 * caller has taken its rate-limit slot, after waiting throttle_wait_ns;
 * raises, described in result->failure, if it cannot: the attempt is then
 * to be freed);
 * iai_attempt_finish() takes in the answer the pool handed over for tag,
 * counts and logs the call like iai_api_call(), and frees the attempt;
 * then raises if the call failed, after describing it in result->failure.
 * iai_attempt_free() drops a prepared attempt that will not be finished.
 */
typedef struct IaiAttempt IaiAttempt;
struct HttpResponse;

extern IaiAttempt *iai_attempt_prepare(const char *action, Jsonb *params,
									   int flags, IaiResult *result);
extern void iai_attempt_send(IaiAttempt *att, void *tag, int64 throttle_wait_ns,
							 IaiResult *result);
extern void iai_attempt_finish(IaiAttempt *att, struct HttpResponse *resp,
							   IaiResult *result);
extern void iai_attempt_free(IaiAttempt *att);

/* Whether an attempt sent now would find a connection open and idle. */
extern bool iai_attempt_ready(void);

/* One line of iai_describe_request(). */
typedef struct IaiDescribeLine
{
	char	   *item;
	char	   *value;
} IaiDescribeLine;

/*
 * The request a call would send at timestamp, step by step: endpoint,
 * credentials (SecretId and source only), body, canonical request, string
 * to sign, headers (the token masked).  Sends nothing.
 */
extern List *iai_describe_request(const char *action, Jsonb *params,
								  int64 timestamp);

/* Build {"PersonId": person, "GroupId": group} after validating both. */
extern Jsonb *iai_person_group_params(const char *person, const char *group);

#endif							/* IAI_API_H */
