/*-------------------------------------------------------------------------
 *
 * api.c
 *		Face Recognition (IAI) API 3.0 calls: validate, build, sign, send,
 *		interpret.
 *
 * The one path every call walks: check the input the way the service
 * would (so bad input fails before anything is sent), serialise the
 * parameters with jsonb's own output routine, sign the exact bytes with
 * TC3-HMAC-SHA256, POST them, and read the answer with the server's JSON
 * parser.  An answer carrying Response.Error becomes an ERROR whose message
 * starts with the API's code and whose DETAIL names the RequestId; anything
 * short of a well-formed answer is a transport error in SQLSTATE class 08.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>
#include <unistd.h>

#include "catalog/namespace.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "answer.h"
#include "api.h"
#include "credentials.h"
#include "errmap.h"
#include "http.h"
#include "settings.h"
#include "stats.h"
#include "tc3.h"
#include "throttle.h"

#define CONTENT_TYPE "application/json; charset=utf-8"
#define MAX_RESPONSE_BYTES (1024 * 1024)
#define MAX_HEADERS 12
#define MIN_ATTEMPT_NS (50 * INT64CONST(1000000))

/* What an error message needs to say which call failed. */
typedef struct CallInfo
{
	const char *action;
	const char *person;			/* NULL when the action has none */
	const char *group;
	const char *url;
	int			attempts;
	bool		in_flight;		/* a request is being sent */
	bool		ambiguous;		/* an earlier attempt may have taken effect */
} CallInfo;

/*
 * Where the call being made describes its failure (see IaiFailure), and the
 * memory context its strings go in; NULL outside iai_api_call().
 */
static IaiFailure *failure_sink = NULL;

void		(*iai_before_send_hook) (void) = NULL;
static MemoryContext failure_cxt = NULL;

/* Describe the failure about to be raised, if anyone asked; first one wins. */
static void
note_failure(IaiFailureKind kind, int sqlstate, const char *code,
			 const char *request_id, const char *message,
			 bool retryable, bool maybe_sent, bool outage)
{
	IaiFailure *f = failure_sink;
	MemoryContext old;

	if (f == NULL || f->failed)
		return;
	old = MemoryContextSwitchTo(failure_cxt);
	f->failed = true;
	f->kind = kind;
	f->sqlstate = sqlstate;
	f->code = code ? pstrdup(code) : NULL;
	f->request_id = request_id ? pstrdup(request_id) : NULL;
	f->message = pstrdup(message);
	f->retryable = retryable;
	f->maybe_sent = maybe_sent;
	f->outage = outage;
	MemoryContextSwitchTo(old);
}

/* ---- input checks: the service's own rules, applied before sending ---- */

static bool
id_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || strchr("-%@#&_", c) != NULL;
}

/* An error found before sending: same code and SQLSTATE the service would give. */
void
iai_input_error(const char *code, const char *message, const char *param)
{
	IaiErrorClass ec = iai_classify_error(code);

	note_failure(IAI_FAILED_INPUT, ec.sqlstate, code, NULL,
				 psprintf("%s: %s", code, message), false, false, false);
	ereport(ERROR,
			(errcode(ec.sqlstate),
			 errmsg("%s: %s", code, message),
			 errdetail("Refused before sending: no request was made."),
			 param ? errhint("%s may contain only letters, digits and -%%@#&_, at most %d bytes.",
							 param, IAI_MAX_ID_BYTES) : 0));
}

void
iai_check_id(const char *param, const char *value)
{
	size_t		len;
	char		code[64];

	if (value == NULL || value[0] == '\0')
		iai_input_error("MissingParameter",
						psprintf("%s is required and must not be empty", param), NULL);
	len = strlen(value);
	if (len > IAI_MAX_ID_BYTES)
	{
		snprintf(code, sizeof(code), "InvalidParameterValue.%sTooLong", param);
		iai_input_error(code,
						psprintf("%s is %zu bytes long; the limit is %d bytes",
								 param, len, IAI_MAX_ID_BYTES), param);
	}
	for (size_t i = 0; i < len; i++)
	{
		if (!id_char_ok((unsigned char) value[i]))
		{
			snprintf(code, sizeof(code), "InvalidParameterValue.%sIllegal", param);
			iai_input_error(code,
							psprintf("%s contains a character that is not allowed", param),
							param);
		}
	}
}

static void
check_action(const char *action)
{
	size_t		len = strlen(action);

	if (len == 0 || len > 64 || !(action[0] >= 'A' && action[0] <= 'Z') ||
		strspn(action, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != len)
		iai_input_error("InvalidAction",
						"an action name is a word of letters and digits starting with a capital, such as DeletePersonFromGroup",
						NULL);
}

/*
 * Fetch an id parameter from params: NULL if absent or JSON null; an error
 * if it is not a string; validated if present or required, unless checked
 * (built by iai_person_group_params(), which validated it).
 */
static const char *
param_id(Jsonb *params, const char *name, bool required, bool checked)
{
	JsonbValue	v;
	const char *value = NULL;

	if (getKeyJsonValueFromContainer(&params->root, name, strlen(name), &v) != NULL &&
		v.type != jbvNull)
	{
		if (v.type != jbvString)
			iai_input_error("InvalidParameter",
							psprintf("%s must be a JSON string", name), NULL);
		value = pnstrdup(v.val.string.val, v.val.string.len);
	}
	if ((value != NULL || required) && !checked)
		iai_check_id(name, value);
	return value;
}

Jsonb *
iai_person_group_params(const char *person, const char *group)
{
	JsonbParseState *state = NULL;
	JsonbValue	k,
				v;
	JsonbValue *res;

	iai_check_id("PersonId", person);
	iai_check_id("GroupId", group);

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	k.type = jbvString;
	v.type = jbvString;
	k.val.string.val = "PersonId";
	k.val.string.len = 8;
	v.val.string.val = (char *) person;
	v.val.string.len = strlen(person);
	pushJsonbValue(&state, WJB_KEY, &k);
	pushJsonbValue(&state, WJB_VALUE, &v);
	k.val.string.val = "GroupId";
	k.val.string.len = 7;
	v.val.string.val = (char *) group;
	v.val.string.len = strlen(group);
	pushJsonbValue(&state, WJB_KEY, &k);
	pushJsonbValue(&state, WJB_VALUE, &v);
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* ---- one attempt and its outcome ---- */

typedef enum AttemptOutcome
{
	ATTEMPT_NONE,				/* no answer yet */
	ATTEMPT_SUCCEEDED,			/* a Response without Error */
	ATTEMPT_ACCEPTED,			/* an "already gone" error taken as success */
	ATTEMPT_API_ERROR,			/* a Response with Error */
	ATTEMPT_TRANSPORT,			/* no complete answer */
	ATTEMPT_HTTP_STATUS,		/* an answer other than HTTP 200 */
	ATTEMPT_BAD_ANSWER			/* HTTP 200, but not a usable Response */
} AttemptOutcome;

typedef struct Attempt
{
	AttemptOutcome outcome;
	HttpResponse http;
	const char *request_id;
	const char *code;			/* API error code */
	IaiErrorClass cls;			/* what code means: classified once, on
								 * reading */
	const char *message;		/* API error message */
	const char *problem;		/* what is wrong with a bad answer */
	const char *text;			/* the answer as parsed: UTF-8, no escapes
								 * beyond ASCII */
	size_t		text_len;
} Attempt;

/* ---- errors after sending ---- */

static int
ctx_detail(const CallInfo *ctx, const char *request_id, const char *transport)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (request_id)
		appendStringInfo(&buf, "RequestId: %s. ", request_id);
	appendStringInfo(&buf, "Action: %s", ctx->action);
	if (ctx->person)
		appendStringInfo(&buf, ", PersonId: %s", ctx->person);
	if (ctx->group)
		appendStringInfo(&buf, ", GroupId: %s", ctx->group);
	appendStringInfo(&buf, ". Endpoint: %s, attempts: %d.", ctx->url, ctx->attempts);
	if (transport != NULL && transport[0] != '\0')
		appendStringInfo(&buf, " libcurl: %s.", transport);
	return errdetail_internal("%s", buf.data);
}

/* Printable-ASCII excerpt of a body, for messages about unusable answers. */
static char *
excerpt(const char *body, size_t len)
{
	size_t		n = Min(len, 120);
	char	   *s = palloc(n + 4);

	for (size_t i = 0; i < n; i++)
		s[i] = (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : '?';
	strcpy(s + n, len > n ? "..." : "");
	return s;
}

/*
 * A failure to get an answer, in our own words: libcurl's wording changes
 * between its versions, so it goes to DETAIL and nothing may depend on it.
 */
static void
raise_transport_error(const CallInfo *ctx, const HttpResponse *resp,
					  bool retryable, bool maybe_sent)
{
	int			sqlstate = ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;
	char	   *what;
	const char *hint = NULL;
	const char *system_ca;

	switch (resp->outcome)
	{
		case HTTP_RESOLVE_FAILED:
			what = "could not resolve the host name of the IAI endpoint";
			hint = "Check \"iai.endpoint\" and the server's DNS configuration.";
			break;
		case HTTP_CONNECT_FAILED:
			what = "could not connect to the IAI endpoint";
			hint = iai_proxy_setting()->url[0] != '\0' || iai_proxy_setting()->environment ?
				"Check \"iai.endpoint\", \"iai.proxy\" and that the database server may reach them." :
				"Check \"iai.endpoint\" and that the database server may reach it.";
			break;
		case HTTP_TLS_UNTRUSTED:
			what = "the IAI endpoint's TLS certificate is not issued by a trusted CA";
			hint = "Set \"iai.ca_file\" to a file holding the CA that issued it, if that CA is to be trusted.";
			break;
		case HTTP_TLS_UNVERIFIED:
			what = "could not verify the IAI endpoint's TLS certificate";
			hint = "The certificate must be valid now, for the host name in \"iai.endpoint\", and issued by a CA the server trusts (see \"iai.ca_file\").";
			break;
		case HTTP_CA_UNREADABLE:
			system_ca = http_default_ca_file();
			if (iai_ca_file[0] != '\0')
			{
				what = psprintf("could not read CA file \"%s\" named by \"iai.ca_file\"",
								iai_ca_file);
				hint = "It must be a readable file of PEM certificates; set \"iai.ca_file\" to '' to use the system's trusted certificates.";
			}
			else if (system_ca != NULL && access(system_ca, R_OK) != 0)
			{
				what = psprintf("system CA certificate file \"%s\" is missing",
								system_ca);
				hint = "Install the ca-certificates package, or set \"iai.ca_file\" to a file of trusted CA certificates.";
			}
			else
			{
				what = "could not read the system's CA certificates";
				hint = "Install the ca-certificates package, or set \"iai.ca_file\" to a file of trusted CA certificates.";
			}
			break;
		case HTTP_TLS_FAILED:
			what = "could not establish a TLS connection to the IAI endpoint";
			break;
		case HTTP_TIMED_OUT:
			sqlstate = ERRCODE_CONNECTION_FAILURE;
			what = "request to the IAI endpoint timed out";
			hint = "Raise \"iai.timeout_ms\", \"iai.connect_timeout_ms\" or \"iai.total_timeout_ms\" if the network is slow.";
			break;
		case HTTP_CONNECTION_LOST:
			sqlstate = ERRCODE_CONNECTION_FAILURE;
			what = "connection to the IAI endpoint was lost before a full answer arrived";
			break;
		case HTTP_TOO_LARGE:
			sqlstate = ERRCODE_PROTOCOL_VIOLATION;
			what = psprintf("the IAI endpoint's answer is larger than %d bytes",
							MAX_RESPONSE_BYTES);
			break;
		default:
			sqlstate = ERRCODE_CONNECTION_EXCEPTION;
			what = "request to the IAI endpoint failed";
			break;
	}
	note_failure(IAI_FAILED_TRANSPORT, sqlstate, NULL, NULL, what,
				 retryable, maybe_sent, true);
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg_internal("%s", what),
			 ctx_detail(ctx, NULL, resp->message),
			 hint ? errhint("%s", hint) : 0));
}

/* Raise the error an unsuccessful attempt stands for. */
pg_noreturn static void raise_attempt(const CallInfo *ctx, const Attempt *a);
static bool worth_retrying(const Attempt *a);
static bool maybe_took_effect(const Attempt *a);

static void
raise_attempt(const CallInfo *ctx, const Attempt *a)
{
	bool		retryable = worth_retrying(a);
	bool		maybe_sent = ctx->ambiguous || maybe_took_effect(a);
	char	   *message;

	switch (a->outcome)
	{
		case ATTEMPT_API_ERROR:
			{
				const IaiErrorClass ec = a->cls;

				message = psprintf("%s: %s", a->code, a->message);
				note_failure(IAI_FAILED_API, ec.sqlstate, a->code, a->request_id,
							 message, retryable, maybe_sent, ec.outage);
				ereport(ERROR,
						(errcode(ec.sqlstate),
						 errmsg_internal("%s", message),
						 ctx_detail(ctx, a->request_id, NULL),
						 ec.hint ? errhint("%s", ec.hint) : 0));
			}
			break;
		case ATTEMPT_TRANSPORT:
			raise_transport_error(ctx, &a->http, retryable, maybe_sent);
			break;
		case ATTEMPT_HTTP_STATUS:
		case ATTEMPT_BAD_ANSWER:
			if (a->outcome == ATTEMPT_HTTP_STATUS)
				message = psprintf("the IAI endpoint answered HTTP %ld instead of 200",
								   a->http.status);
			else
				message = psprintf("the IAI endpoint's answer is unusable: %s", a->problem);
			note_failure(IAI_FAILED_ANSWER, ERRCODE_PROTOCOL_VIOLATION, NULL, NULL,
						 message, retryable, maybe_sent, true);
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg_internal("%s", message),
					 ctx_detail(ctx, NULL, NULL),
					 a->http.body_len > 0 ? errhint("The answer began: %s",
													excerpt(a->http.body, a->http.body_len)) : 0));
			break;
		default:
			break;
	}
	elog(ERROR, "unexpected attempt outcome %d", (int) a->outcome);
}

/* ---- the answer ---- */

/*
 * UTF-8 text from the service (len bytes) in the database's encoding, never
 * failing: a character the database cannot hold becomes '?'.  (A message in
 * Chinese must not turn an API error into an encoding error in a LATIN1
 * database.)  SQL_ASCII takes the bytes as they are, as it does from any
 * client.  Every step stays within len, whatever the bytes.
 */
static char *
to_server_lossy(const char *utf8, size_t len)
{
	int			enc = GetDatabaseEncoding();
	StringInfoData out;
	size_t		i = 0;
#if PG_VERSION_NUM >= 140000
	Oid			proc = InvalidOid;
	char	   *dest = NULL;
	int			cap = 0;
#endif

	if (enc == PG_UTF8 || enc == PG_SQL_ASCII)
		return pnstrdup(utf8, len);
#if PG_VERSION_NUM >= 140000
	proc = FindDefaultConversionProc(PG_UTF8, enc);
#endif
	initStringInfo(&out);
	while (i < len)
	{
		size_t		ascii = i;
		int			charlen;

		while (ascii < len && !IS_HIGHBIT_SET(utf8[ascii]))
			ascii++;
		appendBinaryStringInfo(&out, utf8 + i, (int) (ascii - i));
		i = ascii;
		if (i >= len)
			break;
#if PG_VERSION_NUM >= 140000
		/* convert as far as the database's encoding goes */
		if (OidIsValid(proc))
		{
			int			run = (int) Min(len - i, (size_t) 65536);
			int			done;

			if (cap < run * MAX_CONVERSION_GROWTH + 1)
			{
				cap = run * MAX_CONVERSION_GROWTH + 1;
				dest = dest ? repalloc(dest, cap) : palloc(cap);
			}
			done = pg_do_encoding_conversion_buf(proc, PG_UTF8, enc,
												 (unsigned char *) utf8 + i, run,
												 (unsigned char *) dest, cap, true);
			appendStringInfoString(&out, dest);
			i += done;
			if (done > 0)
				continue;
		}
#endif
		/* a character it cannot hold */
		appendStringInfoChar(&out, '?');
		charlen = pg_utf_mblen((const unsigned char *) utf8 + i);
		if (charlen < 1 || (size_t) charlen > len - i ||
			!pg_utf8_islegal((const unsigned char *) utf8 + i, charlen))
			charlen = 1;
		i += charlen;
	}
	return out.data;
}

/* Sort out what an attempt's answer says; fills outcome and the fields. */
static void
read_answer(Attempt *a)
{
	IaiAnswer	ans;

	if (a->http.outcome != HTTP_DONE)
	{
		a->outcome = ATTEMPT_TRANSPORT;
		return;
	}
	if (a->http.status != 200)
	{
		a->outcome = ATTEMPT_HTTP_STATUS;
		return;
	}
	a->problem = iai_parse_answer(a->http.body, a->http.body_len, &ans);
	if (a->problem != NULL)
	{
		a->outcome = ATTEMPT_BAD_ANSWER;
		return;
	}
	/* the answer is UTF-8; messages and results are in the server's encoding */
	a->text = ans.text;
	a->text_len = ans.text_len;
	a->request_id = to_server_lossy(ans.request_id, strlen(ans.request_id));
	if (!ans.has_error)
	{
		a->outcome = ATTEMPT_SUCCEEDED;
		return;
	}
	a->code = to_server_lossy(ans.code, strlen(ans.code));
	a->message = ans.message ? to_server_lossy(ans.message, strlen(ans.message)) : "";
	a->cls = iai_classify_error(a->code);
	a->outcome = ATTEMPT_API_ERROR;
}

/*
 * The Response object of a successful answer, as jsonb.  Text the
 * database's encoding cannot hold is replaced, as in messages: jsonb keeps
 * strings in that encoding, and an escape kept as text would read as
 * different data.
 */
static Jsonb *
response_object(const Attempt *a)
{
	char	   *text = to_server_lossy(a->text, a->text_len);
	Jsonb	   *doc = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	JsonbValue	v;

	/* iai_parse_answer() found it to be an object */
	if (getKeyJsonValueFromContainer(&doc->root, "Response", 8, &v) == NULL)
		elog(ERROR, "the answer's Response object vanished");
	return JsonbValueToJsonb(&v);
}

/* ---- the request ---- */

static char *
build_body(Jsonb *params, size_t *len)
{
	char	   *text = JsonbToCString(NULL, &params->root, VARSIZE(params));
	char	   *utf8 = pg_server_to_any(text, strlen(text), PG_UTF8);

	*len = strlen(utf8);
	return utf8;
}

/* A request signed and ready to send. */
typedef struct SignedRequest
{
	Tc3Request	tc3;
	Tc3Signature sig;
	char		auth[2048];		/* a TmpSecretId may have 1,024 bytes */
	const char *headers[MAX_HEADERS];
	int			nheaders;
	int			token_header;	/* index of X-TC-Token, or -1 */
} SignedRequest;

/* Sign body for timestamp and build the headers that carry it. */
static void
sign_request(const CallInfo *ctx, const IaiCredentials *creds,
			 const char *body, size_t body_len, int64 timestamp, SignedRequest *sr)
{
	const IaiEndpoint *ep = iai_endpoint();
	Tc3Request *req = &sr->tc3;
	int			n = 0;

	memset(sr, 0, sizeof(*sr));
	req->service = IAI_SERVICE;
	req->host = ep->host_header;
	req->content_type = CONTENT_TYPE;
	req->payload = (const unsigned char *) body;
	req->payload_len = body_len;
	req->timestamp = timestamp;

	/* a credentials problem, not an internal one: the queue pauses for it */
	if (strlen(creds->secret_key) > TC3_MAX_SECRET_KEY_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the SecretKey is too long"),
				 errdetail("A SecretKey may be at most %d bytes.", TC3_MAX_SECRET_KEY_LEN)));
	if (tc3_sign(req, creds->secret_key, strlen(creds->secret_key), &sr->sig) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the request signature")));
	if (tc3_authorization(req, creds->secret_id, &sr->sig, sr->auth,
						  sizeof(sr->auth)) >= sizeof(sr->auth))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the SecretId is too long")));

	/* what is signed (Host, Content-Type, body) is exactly what is sent */
	sr->headers[n++] = psprintf("Host: %s", ep->host_header);
	sr->headers[n++] = "Content-Type: " CONTENT_TYPE;
	sr->headers[n++] = psprintf("X-TC-Action: %s", ctx->action);
	sr->headers[n++] = "X-TC-Version: " IAI_VERSION;
	sr->headers[n++] = psprintf("X-TC-Timestamp: %lld", (long long) timestamp);
	sr->headers[n++] = psprintf("Authorization: %s", sr->auth);
	if (iai_region[0] != '\0')
		sr->headers[n++] = psprintf("X-TC-Region: %s", iai_region);
	sr->token_header = -1;
	if (creds->token != NULL)
	{
		sr->token_header = n;
		sr->headers[n++] = psprintf("X-TC-Token: %s", creds->token);
	}
	if (iai_language[0] != '\0')
		sr->headers[n++] = psprintf("X-TC-Language: %s", iai_language);
	sr->headers[n++] = "Expect:";	/* no 100-continue round trip */
	sr->nheaders = n;
}

/* The signed POST of body, timestamped now, limited to timeout_ms. */
static void
signed_http_request(const CallInfo *ctx, const IaiCredentials *creds,
					const char *body, size_t body_len, long timeout_ms,
					SignedRequest *sr, HttpRequest *hreq)
{
	const IaiProxy *proxy = iai_proxy_setting();

	sign_request(ctx, creds, body, body_len, (int64) time(NULL), sr);
	memset(hreq, 0, sizeof(*hreq));
	hreq->url = ctx->url;
	hreq->headers = sr->headers;
	hreq->nheaders = sr->nheaders;
	hreq->body = body;
	hreq->body_len = body_len;
	hreq->timeout_ms = Min(iai_timeout_ms, timeout_ms);
	hreq->connect_timeout_ms = Min(iai_connect_timeout_ms, timeout_ms);
	hreq->ca_file = iai_ca_file;
	hreq->proxy = proxy->url;
	hreq->proxy_from_environment = proxy->environment;
	hreq->max_response = MAX_RESPONSE_BYTES;
	hreq->wait_event = iai_wait_event(IAI_WAIT_HTTP);
}

/* One signed POST, timestamped now, limited to timeout_ms; fills resp. */
static void
send_signed(const CallInfo *ctx, const IaiCredentials *creds,
			const char *body, size_t body_len, long timeout_ms,
			HttpResponse *resp)
{
	SignedRequest sr;
	HttpRequest hreq;

	signed_http_request(ctx, creds, body, body_len, timeout_ms, &sr, &hreq);

	((CallInfo *) ctx)->in_flight = true;
	if (iai_before_send_hook)
		iai_before_send_hook();
	http_post(&hreq, resp);
	((CallInfo *) ctx)->in_flight = false;
	explicit_bzero(sr.auth, sizeof(sr.auth));
}

/* ---- retries ---- */

/* Whether another attempt may succeed where this one failed. */
static bool
worth_retrying(const Attempt *a)
{
	switch (a->outcome)
	{
		case ATTEMPT_TRANSPORT:
			/* a certificate or size problem will be the same next time */
			return a->http.outcome != HTTP_TLS_FAILED &&
				a->http.outcome != HTTP_TLS_UNTRUSTED &&
				a->http.outcome != HTTP_TLS_UNVERIFIED &&
				a->http.outcome != HTTP_CA_UNREADABLE &&
				a->http.outcome != HTTP_TOO_LARGE;
		case ATTEMPT_HTTP_STATUS:
			return true;
		case ATTEMPT_API_ERROR:
			return a->cls.retryable;
		default:
			return false;
	}
}

/* Whether the request may have taken effect although this attempt failed. */
static bool
maybe_took_effect(const Attempt *a)
{
	switch (a->outcome)
	{
		case ATTEMPT_TRANSPORT:
			return a->http.maybe_delivered &&
				(a->http.outcome == HTTP_TIMED_OUT ||
				 a->http.outcome == HTTP_CONNECTION_LOST ||
				 a->http.outcome == HTTP_FAILED);
		case ATTEMPT_HTTP_STATUS:
			return true;		/* a gateway may have passed it on */
		case ATTEMPT_API_ERROR:
			return a->cls.ambiguous;
		default:
			return false;
	}
}

/*
 * Backoff before retry number n (1-based): 200 ms doubling, at most 5 s, at
 * least 2 s when throttled, then "equal jitter" (a random point in the upper
 * half) so that backends do not retry in step.
 */
static int64
backoff_ns(int n, const Attempt *a)
{
	double		ms = Min(200.0 * (1 << Min(n - 1, 5)), 5000.0);

	if (a->outcome == ATTEMPT_API_ERROR &&
		strncmp(a->code, "RequestLimitExceeded", 20) == 0)
		ms = Max(ms, 2000.0);
	return (int64) (ms * (0.5 + 0.5 * iai_random()) * 1000000.0);
}

/* Count one attempt's request in iai_stats. */
static void
count_request(const CallInfo *ctx, const Attempt *a, int64 throttle_wait_ns)
{
	IaiRequestOutcome outcome;

	switch (a->outcome)
	{
		case ATTEMPT_SUCCEEDED:
			outcome = IAI_REQ_OK;
			break;
		case ATTEMPT_API_ERROR:
		case ATTEMPT_ACCEPTED:
			outcome = IAI_REQ_API_ERROR;
			break;
		default:
			outcome = IAI_REQ_TRANSPORT;
			break;
	}
	iai_stats_request(ctx->action, ctx->attempts, outcome, a->code, throttle_wait_ns);
}

/*
 * Take in an attempt's answer (a->http): learn the handshake time, read the
 * answer, take "already gone" as success where that is wanted, count the
 * request.  True if the attempt succeeded.
 */
static bool
judge_attempt(const CallInfo *ctx, int flags, bool delete_action, Attempt *a,
			  int64 waited)
{
	if (a->http.new_connections > 0 && a->http.outcome == HTTP_DONE)
		iai_throttle_note_setup((int64) (a->http.setup_ms * 1000000.0));
	read_answer(a);

	/*
	 * Already gone: wanted, or the effect of an earlier attempt (or of a send
	 * libcurl repeated on a fresh connection).  Not for iai_call(), which
	 * returns exactly what the service answered.
	 */
	if (a->outcome == ATTEMPT_API_ERROR && a->cls.not_found &&
		((flags & IAI_MISSING_OK) ||
		 (delete_action && !(flags & IAI_WANT_RESPONSE) &&
		  (ctx->ambiguous || a->http.sends > 1))))
		a->outcome = ATTEMPT_ACCEPTED;
	count_request(ctx, a, waited);
	return a->outcome == ATTEMPT_SUCCEEDED || a->outcome == ATTEMPT_ACCEPTED;
}

/*
 * Send until an attempt succeeds, or raise the error of the last one.
 * *a is left describing the last attempt.
 */
static void
run_attempts(CallInfo *ctx, IaiCredentials *creds, const char *body,
			 size_t body_len, int flags, bool delete_action, Attempt *a)
{
	bool		renewed = false;
	int64		budget = (int64) iai_total_timeout_ms * 1000000;
	int64		deadline = iai_now_ns() + budget;
	int64		min_attempt;

	/* a slot must leave time for the request itself */
	min_attempt = Min(MIN_ATTEMPT_NS, budget / 2);
	for (;;)
	{
		int64		left;
		int64		waited;

		ctx->attempts++;
		memset(a, 0, sizeof(*a));
		waited = iai_throttle(deadline - min_attempt,
							  http_connection_ready(ctx->url, iai_ca_file));
		left = deadline - iai_now_ns();
		/* signed afresh each time: a retry carries a new timestamp */
		send_signed(ctx, creds, body, body_len, (long) Max(left / 1000000, 1), &a->http);
		if (judge_attempt(ctx, flags, delete_action, a, waited))
			return;

		/* temporary credentials rotated under us: once more, with new ones */
		if (a->outcome == ATTEMPT_API_ERROR && !renewed &&
			iai_renew_credentials(creds, a->code))
		{
			renewed = true;
			continue;
		}

		if (!worth_retrying(a) || ctx->attempts > iai_max_retries)
			raise_attempt(ctx, a);
		else
		{
			int64		wake = iai_now_ns() + backoff_ns(ctx->attempts, a);

			if (wake >= deadline)
				raise_attempt(ctx, a);
			ctx->ambiguous |= maybe_took_effect(a);
			iai_wait_until(wake);
		}
	}
}

/* Count and log a finished call; error is the message it failed with. */
static void
report_call(const CallInfo *ctx, const Attempt *a, int64 start_ns, const char *error)
{
	IaiCallReport r;

	r.action = ctx->action;
	r.person = ctx->person;
	r.group = ctx->group;
	r.success = (error == NULL);
	r.request_id = a->request_id;
	r.attempts = ctx->attempts;
	r.elapsed_ms = (iai_now_ns() - start_ns) / 1000000.0;
	if (a->outcome == ATTEMPT_ACCEPTED)
		r.outcome = psprintf("OK (already gone: %s)", a->code);
	else if (r.success)
		r.outcome = "OK";
	else if (a->outcome == ATTEMPT_API_ERROR)
		r.outcome = a->code;
	else
		r.outcome = error;
	iai_stats_call(&r);
}

/*
 * A failure raised during the call but not described where it was raised
 * (credentials, settings, the rate limit's deadline, a cancel): described
 * from its SQLSTATE.
 */
static void
note_local_failure(const CallInfo *ctx, const ErrorData *edata)
{
	int			category = ERRCODE_TO_CATEGORY(edata->sqlerrcode);
	bool		outage;

	/* connection, credentials, system and configuration trouble */
	outage = category == ERRCODE_CONNECTION_EXCEPTION ||
		category == ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION ||
		category == ERRCODE_SYSTEM_ERROR ||
		category == ERRCODE_CONFIG_FILE_ERROR ||
		category == ERRCODE_INSUFFICIENT_RESOURCES;
	note_failure(IAI_FAILED_LOCAL, edata->sqlerrcode, NULL, NULL,
				 edata->message ? edata->message : "unknown error",
				 outage, ctx->in_flight || ctx->ambiguous, outage);
}

/*
 * What every call does before sending: check the action and parameters,
 * serialise them, find the credentials.  Raises for bad input.
 */
static void
prepare_call(CallInfo *ctx, const char *action, Jsonb *params, int flags,
			 bool *delete_action, char **body, size_t *body_len,
			 IaiCredentials *creds)
{
	bool		checked = (flags & IAI_PARAMS_CHECKED) != 0;

	ctx->action = action;
	check_action(action);
	if (!JB_ROOT_IS_OBJECT(params))
		iai_input_error("InvalidParameter", "the parameters must be a JSON object", NULL);
	*delete_action = strcmp(action, IAI_ACTION_DELETE_PERSON_FROM_GROUP) == 0;
	ctx->person = param_id(params, "PersonId", *delete_action, checked);
	ctx->group = param_id(params, "GroupId", *delete_action, checked);
	ctx->url = iai_endpoint()->url;
	*body = build_body(params, body_len);
	iai_resolve_credentials(creds);
}

/*
 * Hand a finished call's results to the caller's context (oldcxt) and free
 * the call's own (callcxt).
 */
static void
return_result(const Attempt *a, const CallInfo *ctx, int flags,
			  MemoryContext oldcxt, MemoryContext callcxt, IaiResult *result)
{
	MemoryContextSwitchTo(oldcxt);
	result->attempts = ctx->attempts;
	result->request_id = pstrdup(a->request_id);
	if (a->outcome == ATTEMPT_ACCEPTED)
		result->accepted_code = pstrdup(a->code);
	if (flags & IAI_WANT_RESPONSE)
		result->response = response_object(a);
	MemoryContextDelete(callcxt);
}

void
iai_api_call(const char *action, Jsonb *params, int flags, IaiResult *result)
{
	MemoryContext callcxt;
	MemoryContext oldcxt;
	CallInfo   *ctx;
	Attempt    *a;
	IaiCredentials creds;
	char	   *body;
	size_t		body_len;
	bool		delete_action;
	volatile int64 start_ns = iai_now_ns();

	memset(result, 0, sizeof(*result));
	failure_sink = &result->failure;
	failure_cxt = CurrentMemoryContext;

	/* everything below is freed at once when the call ends */
	callcxt = AllocSetContextCreate(CurrentMemoryContext, "iai call",
									ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(callcxt);
	ctx = palloc0(sizeof(CallInfo));
	a = palloc0(sizeof(Attempt));
	ctx->action = action;

	PG_TRY();
	{
		prepare_call(ctx, action, params, flags, &delete_action, &body, &body_len,
					 &creds);
		start_ns = iai_now_ns();
		run_attempts(ctx, &creds, body, body_len, flags, delete_action, a);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* describe and count the failure, whatever raised it, then go on */
		MemoryContextSwitchTo(callcxt);
		edata = CopyErrorData();
		note_local_failure(ctx, edata);
		failure_sink = NULL;
		if (ctx->attempts > 0)
			report_call(ctx, a, start_ns, edata->message);
		PG_RE_THROW();
	}
	PG_END_TRY();
	failure_sink = NULL;
	report_call(ctx, a, start_ns, NULL);

	/* hand the results to the caller's context, then drop the rest */
	return_result(a, ctx, flags, oldcxt, callcxt, result);
}

/* ---- one attempt at a time, many at once (the queue worker) ---- */

struct IaiAttempt
{
	MemoryContext cxt;			/* everything of the attempt */
	CallInfo	ctx;
	Attempt		a;
	IaiCredentials creds;
	char	   *body;
	size_t		body_len;
	int			flags;
	bool		delete_action;
	int64		start_ns;
	int64		waited_ns;
};

/* Wipe the attempt's copy of the credentials before its memory goes. */
static void
wipe_attempt(IaiAttempt *att)
{
	if (att->creds.secret_key)
		explicit_bzero((char *) att->creds.secret_key, strlen(att->creds.secret_key));
	if (att->creds.token)
		explicit_bzero((char *) att->creds.token, strlen(att->creds.token));
}

/* Start describing failures in result, in the current context. */
static void
sink_failures(IaiResult *result)
{
	memset(result, 0, sizeof(*result));
	failure_sink = &result->failure;
	failure_cxt = CurrentMemoryContext;
}

IaiAttempt *
iai_attempt_prepare(const char *action, Jsonb *params, int flags,
					IaiResult *result)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	MemoryContext cxt;
	IaiAttempt *volatile att;

	sink_failures(result);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "iai attempt",
								ALLOCSET_SMALL_SIZES);
	MemoryContextSwitchTo(cxt);
	att = palloc0(sizeof(IaiAttempt));
	att->cxt = cxt;
	att->flags = flags;
	PG_TRY();
	{
		prepare_call(&att->ctx, action, params, flags, &att->delete_action,
					 &att->body, &att->body_len, &att->creds);
		/* the credentials file may be read again before this is sent */
		att->creds.secret_id = pstrdup(att->creds.secret_id);
		att->creds.secret_key = pstrdup(att->creds.secret_key);
		if (att->creds.token)
			att->creds.token = pstrdup(att->creds.token);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		note_local_failure(&att->ctx, edata);
		failure_sink = NULL;
		MemoryContextSwitchTo(oldcxt);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	failure_sink = NULL;
	MemoryContextSwitchTo(oldcxt);
	return att;
}

void
iai_attempt_send(IaiAttempt *att, void *tag, int64 throttle_wait_ns,
				 IaiResult *result)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	SignedRequest sr;
	HttpRequest hreq;

	sink_failures(result);
	MemoryContextSwitchTo(att->cxt);
	memset(&sr, 0, sizeof(sr));
	att->start_ns = iai_now_ns();
	att->waited_ns = throttle_wait_ns;
	att->ctx.attempts = 1;
	PG_TRY();
	{
		signed_http_request(&att->ctx, &att->creds, att->body, att->body_len,
							Max(iai_total_timeout_ms, 1), &sr, &hreq);
		(void) http_start(&hreq, tag);
		att->ctx.in_flight = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		explicit_bzero(sr.auth, sizeof(sr.auth));
		MemoryContextSwitchTo(att->cxt);
		edata = CopyErrorData();
		note_local_failure(&att->ctx, edata);
		failure_sink = NULL;
		MemoryContextSwitchTo(oldcxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	explicit_bzero(sr.auth, sizeof(sr.auth));
	failure_sink = NULL;
	MemoryContextSwitchTo(oldcxt);
}

bool
iai_attempt_ready(void)
{
	return http_pool_ready(iai_endpoint()->url, iai_ca_file);
}

void
iai_attempt_finish(IaiAttempt *att, HttpResponse *resp, IaiResult *result)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	CallInfo   *ctx = &att->ctx;
	Attempt    *a = &att->a;

	sink_failures(result);
	MemoryContextSwitchTo(att->cxt);
	PG_TRY();
	{
		ctx->in_flight = false;
		memset(a, 0, sizeof(*a));
		a->http = *resp;
		if (!judge_attempt(ctx, att->flags, att->delete_action, a, att->waited_ns))
			raise_attempt(ctx, a);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(att->cxt);
		edata = CopyErrorData();
		note_local_failure(ctx, edata);
		failure_sink = NULL;
		report_call(ctx, a, att->start_ns, edata->message);
		MemoryContextSwitchTo(oldcxt);
		wipe_attempt(att);
		MemoryContextDelete(att->cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	failure_sink = NULL;
	report_call(ctx, a, att->start_ns, NULL);
	wipe_attempt(att);
	return_result(a, ctx, att->flags, oldcxt, att->cxt, result);
}

void
iai_attempt_free(IaiAttempt *att)
{
	wipe_attempt(att);
	MemoryContextDelete(att->cxt);
}

static IaiDescribeLine *
line(const char *item, const char *value)
{
	IaiDescribeLine *l = palloc(sizeof(IaiDescribeLine));

	l->item = pstrdup(item);
	l->value = pstrdup(value);
	return l;
}

List *
iai_describe_request(const char *action, Jsonb *params, int64 timestamp)
{
	CallInfo	ctx = {0};
	IaiCredentials creds;
	SignedRequest sr;
	char	   *body;
	size_t		body_len;
	size_t		n;
	char	   *text;
	List	   *lines = NIL;

	check_action(action);
	if (!JB_ROOT_IS_OBJECT(params))
		iai_input_error("InvalidParameter", "the parameters must be a JSON object", NULL);
	ctx.action = action;
	ctx.url = iai_endpoint()->url;
	body = build_body(params, &body_len);
	iai_resolve_credentials(&creds);
	sign_request(&ctx, &creds, body, body_len, timestamp, &sr);

	lines = lappend(lines, line("endpoint", ctx.url));
	lines = lappend(lines, line("credentials", iai_describe_credentials(&creds)));
	lines = lappend(lines, line("body", body));
	n = tc3_canonical_request(&sr.tc3, NULL, 0);
	text = palloc(n + 1);
	tc3_canonical_request(&sr.tc3, text, n + 1);
	lines = lappend(lines, line("canonical_request", text));
	n = tc3_string_to_sign(&sr.tc3, NULL, 0);
	text = palloc(n + 1);
	tc3_string_to_sign(&sr.tc3, text, n + 1);
	lines = lappend(lines, line("string_to_sign", text));
	for (int i = 0; i < sr.nheaders; i++)
	{
		if (i == sr.token_header)
			text = psprintf("X-TC-Token: (%zu bytes, not shown)", strlen(creds.token));
		else
			text = (char *) sr.headers[i];
		if (strcmp(text, "Expect:") != 0)
			lines = lappend(lines, line("header", text));
	}
	explicit_bzero(sr.auth, sizeof(sr.auth));
	return lines;
}
