/*-------------------------------------------------------------------------
 *
 * errmap.c
 *		What an IAI error code means to PostgreSQL.
 *
 * API error codes are dotted families ("InvalidParameterValue.PersonIdIllegal").
 * The first rule whose prefix matches wins, so specific codes come before
 * their family.  The SQLSTATE lets PL/pgSQL catch by condition name; the
 * README carries this table.  Needs nothing of the backend, so the fuzz
 * target links it too.  "Ambiguous" codes are server-side failures
 * after which the request may still have taken effect.  "Outage" codes say
 * nothing about the request itself (the service, the account, the
 * credentials): the queue worker pauses on them instead of spending the
 * row's attempts.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#include "utils/elog.h"
#else
#include "postgres.h"
#endif

#include "errmap.h"

#define RETRY		0x01		/* transient: another attempt may succeed */
#define NOT_FOUND	0x02		/* the person is already absent */
#define AMBIGUOUS	0x04		/* failed, yet may have taken effect */
#define OUTAGE		0x08		/* not about the request: pause the queue */

typedef struct Rule
{
	const char *prefix;
	int			sqlstate;
	int			flags;
	const char *hint;
} Rule;

static const Rule rules[] = {
	/* the person is already absent: catchable as no_data_found */
	{"FailedOperation.GroupPersonMapNotExist", ERRCODE_NO_DATA_FOUND, NOT_FOUND,
	"The person is not in this group. The trigger option missing_ok treats this as success."},
	{"InvalidParameterValue.PersonIdNotExist", ERRCODE_NO_DATA_FOUND, NOT_FOUND,
	"No person with this PersonId exists. The trigger option missing_ok treats this as success."},
	{"InvalidParameterValue.GroupIdNotExist", ERRCODE_NO_DATA_FOUND, 0,
	"No person group with this GroupId exists in this account and region."},
	{"ResourceNotFound", ERRCODE_NO_DATA_FOUND, 0, NULL},

	/* credentials and signature */
	{"AuthFailure.SignatureExpire", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, OUTAGE,
	"The request timestamp is more than 5 minutes away from the service's clock: synchronise the database server's clock (NTP)."},
	{"AuthFailure.SecretIdNotFound", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, OUTAGE,
	"Check that \"iai.secret_id\" names an enabled key, copied without surrounding whitespace."},
	{"AuthFailure.InvalidSecretId", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, OUTAGE,
	"Check that \"iai.secret_id\" is an API key ID (it starts with AKID), copied without surrounding whitespace."},
	{"AuthFailure.SignatureFailure", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, OUTAGE,
	"Check that \"iai.secret_key\" belongs to \"iai.secret_id\", and that nothing between the database and the service rewrites the request."},
	{"AuthFailure.TokenFailure", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, OUTAGE,
	"The session token is invalid or expired: renew the temporary credentials, or clear \"iai.session_token\" when using a long-term key."},
	{"AuthFailure.UnauthorizedOperation", ERRCODE_INSUFFICIENT_PRIVILEGE, OUTAGE,
	"Grant the key's CAM user permission for this action."},
	{"AuthFailure", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, OUTAGE, NULL},
	{"UnauthorizedOperation", ERRCODE_INSUFFICIENT_PRIVILEGE, OUTAGE,
	"Grant the key's CAM user permission for this action."},

	/* rate limits: retried with backoff, except the per-IP limit */
	{"RequestLimitExceeded.IPLimitExceeded", ERRCODE_INSUFFICIENT_RESOURCES, OUTAGE,
	"Too many requests from this IP address; lower the request rate."},
	{"RequestLimitExceeded", ERRCODE_INSUFFICIENT_RESOURCES, RETRY | OUTAGE,
	"The account's request rate limit was hit; lower \"iai.rate_limit\" or raise \"iai.max_retries\"."},

	/* service-side trouble: transient */
	{"InternalError", ERRCODE_SYSTEM_ERROR, RETRY | AMBIGUOUS | OUTAGE,
	"A transient service error; retry later."},
	{"ServiceUnavailable", ERRCODE_SYSTEM_ERROR, RETRY | OUTAGE,
	"A transient service error; retry later."},
	{"FailedOperation.ServerError", ERRCODE_SYSTEM_ERROR, RETRY | OUTAGE,
	"A transient service error; retry later."},
	{"FailedOperation.RequestTimeout", ERRCODE_SYSTEM_ERROR, RETRY | AMBIGUOUS | OUTAGE,
	"A transient service error; retry later."},

	{"FailedOperation.ConflictOperation", ERRCODE_T_R_SERIALIZATION_FAILURE, 0,
	"Another operation on the same person was in progress; retry the transaction."},

	/* bad input */
	{"MissingParameter", ERRCODE_NULL_VALUE_NOT_ALLOWED, 0, NULL},
	{"InvalidParameter", ERRCODE_INVALID_PARAMETER_VALUE, 0, NULL},
	{"UnknownParameter", ERRCODE_INVALID_PARAMETER_VALUE, 0, NULL},

	/* wrong action, version, region or protocol */
	{"InvalidAction", ERRCODE_FEATURE_NOT_SUPPORTED, 0, NULL},
	{"NoSuchVersion", ERRCODE_FEATURE_NOT_SUPPORTED, 0, NULL},
	{"UnsupportedRegion", ERRCODE_FEATURE_NOT_SUPPORTED, OUTAGE,
	"Check \"iai.region\", or leave it empty for this action."},
	{"UnsupportedProtocol", ERRCODE_FEATURE_NOT_SUPPORTED, 0, NULL},
	{"UnsupportedOperation", ERRCODE_FEATURE_NOT_SUPPORTED, 0, NULL},
	{"ActionOffline", ERRCODE_FEATURE_NOT_SUPPORTED, 0, NULL},

	/* quotas and sizes */
	{"LimitExceeded", ERRCODE_PROGRAM_LIMIT_EXCEEDED, 0, NULL},
	{"RequestSizeLimitExceeded", ERRCODE_PROGRAM_LIMIT_EXCEEDED, 0, NULL},
	{"ResponseSizeLimitExceeded", ERRCODE_PROGRAM_LIMIT_EXCEEDED, 0, NULL},

	/* account and resource states */
	{"ResourceUnavailable", ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, OUTAGE,
	"Check the account's Face Recognition service and billing state in the Tencent Cloud console."},
	{"ResourcesSoldOut", ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, OUTAGE,
	"Check the account's Face Recognition service and billing state in the Tencent Cloud console."},
	{"ResourceInUse", ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, 0, NULL},
	{"ResourceInsufficient", ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, 0, NULL},
	{"FailedOperation", ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, 0, NULL},
};

IaiErrorClass
iai_classify_error(const char *code)
{
	IaiErrorClass c = {ERRCODE_EXTERNAL_ROUTINE_EXCEPTION, NULL, false, false, false, false};

	for (size_t i = 0; i < lengthof(rules); i++)
	{
		if (strncmp(code, rules[i].prefix, strlen(rules[i].prefix)) == 0)
		{
			c.sqlstate = rules[i].sqlstate;
			c.hint = rules[i].hint;
			c.retryable = (rules[i].flags & RETRY) != 0;
			c.not_found = (rules[i].flags & NOT_FOUND) != 0;
			c.ambiguous = (rules[i].flags & AMBIGUOUS) != 0;
			c.outage = (rules[i].flags & OUTAGE) != 0;
			break;
		}
	}
	return c;
}
