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

typedef struct IaiResult
{
	Jsonb	   *response;		/* the Response object, with IAI_WANT_RESPONSE */
	char	   *request_id;
	char	   *accepted_code;	/* error code taken as success (missing_ok) */
	int			attempts;
} IaiResult;

/*
 * Raise, before sending, the error the service would give for bad input;
 * param names the id whose rules the hint should recall, or is NULL.
 */
pg_noreturn extern void iai_input_error(const char *code, const char *message,
										const char *param);

/* Raise the API's own error for an invalid PersonId/GroupId (NULL is missing). */
extern void iai_check_id(const char *param, const char *value);

/* Make one signed call; raises on any failure that is not accepted. */
extern void iai_api_call(const char *action, Jsonb *params, int flags,
						 IaiResult *result);

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
