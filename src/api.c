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

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "api.h"
#include "errmap.h"
#include "http.h"
#include "settings.h"
#include "tc3.h"

#define CONTENT_TYPE "application/json; charset=utf-8"
#define MAX_RESPONSE_BYTES (1024 * 1024)
#define MAX_HEADERS 12

/* What an error message needs to say which call failed. */
typedef struct CallContext
{
	const char *action;
	const char *person;			/* NULL when the action has none */
	const char *group;
	const char *url;
	int			attempts;
} CallContext;

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
 * if it is not a string; validated if present or required.
 */
static const char *
param_id(Jsonb *params, const char *name, bool required)
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
	if (value != NULL || required)
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

/* ---- errors after sending ---- */

static int
ctx_detail(const CallContext *ctx, const char *request_id)
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
	return errdetail_internal("%s", buf.data);
}

static void
raise_api_error(const CallContext *ctx, const char *code, const char *message,
				const char *request_id)
pg_attribute_noreturn();

static void
raise_api_error(const CallContext *ctx, const char *code, const char *message,
				const char *request_id)
{
	IaiErrorClass ec = iai_classify_error(code);

	ereport(ERROR,
			(errcode(ec.sqlstate),
			 errmsg_internal("%s: %s", code, message),
			 ctx_detail(ctx, request_id),
			 ec.hint ? errhint("%s", ec.hint) : 0));
}

static void
raise_transport_error(const CallContext *ctx, const HttpResponse *resp)
pg_attribute_noreturn();

static void
raise_transport_error(const CallContext *ctx, const HttpResponse *resp)
{
	int			sqlstate;
	const char *what;
	const char *hint = NULL;

	switch (resp->outcome)
	{
		case HTTP_RESOLVE_FAILED:
			sqlstate = ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;
			what = "could not resolve the IAI endpoint's host name";
			hint = "Check iai.endpoint and the server's DNS configuration.";
			break;
		case HTTP_CONNECT_FAILED:
			sqlstate = ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;
			what = "could not connect to the IAI endpoint";
			hint = "Check iai.endpoint and that the database server may reach it.";
			break;
		case HTTP_TLS_FAILED:
			sqlstate = ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;
			what = "TLS connection to the IAI endpoint failed";
			hint = "The endpoint's certificate must be valid for its host name and issued by a CA the server trusts (see iai.ca_file).";
			break;
		case HTTP_TIMED_OUT:
			sqlstate = ERRCODE_CONNECTION_FAILURE;
			what = "request to the IAI endpoint timed out";
			hint = "Raise iai.timeout_ms or iai.connect_timeout_ms if the network is slow.";
			break;
		case HTTP_CONNECTION_LOST:
			sqlstate = ERRCODE_CONNECTION_FAILURE;
			what = "connection to the IAI endpoint was lost before a full answer arrived";
			break;
		case HTTP_TOO_LARGE:
			sqlstate = ERRCODE_PROTOCOL_VIOLATION;
			what = "the IAI endpoint's answer is too large";
			break;
		default:
			sqlstate = ERRCODE_CONNECTION_EXCEPTION;
			what = "request to the IAI endpoint failed";
			break;
	}
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("%s: %s", what, resp->message),
			 ctx_detail(ctx, NULL),
			 hint ? errhint("%s", hint) : 0));
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

static void
raise_bad_answer(const CallContext *ctx, const char *what, const char *body, size_t len)
pg_attribute_noreturn();

static void
raise_bad_answer(const CallContext *ctx, const char *what, const char *body, size_t len)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROTOCOL_VIOLATION),
			 errmsg("the IAI endpoint's answer is unusable: %s", what),
			 ctx_detail(ctx, NULL),
			 len > 0 ? errhint("The answer began: %s", excerpt(body, len)) : 0));
}

/* ---- the answer ---- */

static bool
json_is_valid(char *text, size_t len)
{
	JsonParseErrorType rc;

#if PG_VERSION_NUM >= 170000
	JsonLexContext lex;

	makeJsonLexContextCstringLen(&lex, text, len, PG_UTF8, true);
	rc = pg_parse_json(&lex, &nullSemAction);
	freeJsonLexContext(&lex);
#else
	JsonLexContext *lex = makeJsonLexContextCstringLen(text, (int) len, PG_UTF8, true);

	rc = pg_parse_json(lex, &nullSemAction);
#endif
	return rc == JSON_SUCCESS;
}

static const char *
get_string(JsonbContainer *c, const char *key)
{
	JsonbValue	v;

	if (getKeyJsonValueFromContainer(c, key, strlen(key), &v) == NULL ||
		v.type != jbvString)
		return NULL;
	return pnstrdup(v.val.string.val, v.val.string.len);
}

static bool
get_object(JsonbContainer *c, const char *key, JsonbValue *out)
{
	return getKeyJsonValueFromContainer(c, key, strlen(key), out) != NULL &&
		out->type == jbvBinary && JsonContainerIsObject(out->val.binary.data);
}

/*
 * Read an HTTP 200 answer.  Returns the Response object (in the current
 * memory context) or raises: the API's error, or an unusable answer.
 * With missing_ok an "already gone" error is accepted and NULL returned.
 */
static Jsonb *
interpret_answer(const CallContext *ctx, char *body, size_t len, int flags,
				 IaiResult *result)
{
	char	   *text;
	Jsonb	   *doc;
	JsonbValue	response,
				error;
	const char *request_id;

	if (len == 0)
		raise_bad_answer(ctx, "the body is empty", body, len);
	if (memchr(body, '\0', len) != NULL ||
		!pg_verify_mbstr(PG_UTF8, body, (int) len, true) ||
		!json_is_valid(body, len))
		raise_bad_answer(ctx, "it is not JSON", body, len);

	text = pg_any_to_server(body, (int) len, PG_UTF8);
	doc = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	if (!JB_ROOT_IS_OBJECT(doc) || !get_object(&doc->root, "Response", &response))
		raise_bad_answer(ctx, "it has no Response object", body, len);

	request_id = get_string(response.val.binary.data, "RequestId");
	if (request_id == NULL || request_id[0] == '\0')
		raise_bad_answer(ctx, "it has no RequestId", body, len);
	result->request_id = pstrdup(request_id);

	if (get_object(response.val.binary.data, "Error", &error))
	{
		const char *code = get_string(error.val.binary.data, "Code");
		const char *message = get_string(error.val.binary.data, "Message");

		if (code == NULL || code[0] == '\0')
			raise_bad_answer(ctx, "its Error has no Code", body, len);
		if ((flags & IAI_MISSING_OK) && iai_classify_error(code).not_found)
		{
			result->accepted_code = pstrdup(code);
			return NULL;
		}
		raise_api_error(ctx, code, message ? message : "", request_id);
	}
	return JsonbValueToJsonb(&response);
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

/* One signed POST; fills resp. */
static void
send_signed(const CallContext *ctx, const IaiCredentials *creds,
			const char *body, size_t body_len, HttpResponse *resp)
{
	const IaiEndpoint *ep = iai_endpoint();
	Tc3Request	req = {0};
	Tc3Signature sig;
	char		auth[1024];
	const char *headers[MAX_HEADERS];
	int			n = 0;
	HttpRequest hreq = {0};

	req.service = IAI_SERVICE;
	req.host = ep->host_header;
	req.content_type = CONTENT_TYPE;
	req.payload = (const unsigned char *) body;
	req.payload_len = body_len;
	req.timestamp = (int64_t) time(NULL);

	if (tc3_sign(&req, creds->secret_key, strlen(creds->secret_key), &sig) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not compute the request signature")));
	if (tc3_authorization(&req, creds->secret_id, &sig, auth, sizeof(auth)) >= sizeof(auth))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the SecretId is too long")));

	/* what is signed (Host, Content-Type, body) is exactly what is sent */
	headers[n++] = psprintf("Host: %s", ep->host_header);
	headers[n++] = "Content-Type: " CONTENT_TYPE;
	headers[n++] = psprintf("X-TC-Action: %s", ctx->action);
	headers[n++] = "X-TC-Version: " IAI_VERSION;
	headers[n++] = psprintf("X-TC-Timestamp: %lld", (long long) req.timestamp);
	headers[n++] = psprintf("Authorization: %s", auth);
	if (iai_region[0] != '\0')
		headers[n++] = psprintf("X-TC-Region: %s", iai_region);
	if (creds->token != NULL)
		headers[n++] = psprintf("X-TC-Token: %s", creds->token);
	if (iai_language[0] != '\0')
		headers[n++] = psprintf("X-TC-Language: %s", iai_language);
	headers[n++] = "Expect:";	/* no 100-continue round trip */

	hreq.url = ep->url;
	hreq.headers = headers;
	hreq.nheaders = n;
	hreq.body = body;
	hreq.body_len = body_len;
	hreq.timeout_ms = iai_timeout_ms;
	hreq.connect_timeout_ms = iai_connect_timeout_ms;
	hreq.ca_file = iai_ca_file;
	hreq.max_response = MAX_RESPONSE_BYTES;

	http_post(&hreq, resp);
	explicit_bzero(auth, sizeof(auth));
}

void
iai_api_call(const char *action, Jsonb *params, int flags, IaiResult *result)
{
	MemoryContext callcxt;
	MemoryContext oldcxt;
	CallContext ctx = {0};
	IaiCredentials creds;
	HttpResponse resp;
	char	   *body;
	size_t		body_len;
	Jsonb	   *response;
	bool		delete_action;

	memset(result, 0, sizeof(*result));
	check_action(action);
	if (!JB_ROOT_IS_OBJECT(params))
		iai_input_error("InvalidParameter", "the parameters must be a JSON object", NULL);

	/* everything below is freed at once when the call ends */
	callcxt = AllocSetContextCreate(CurrentMemoryContext, "iai call",
									ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(callcxt);

	delete_action = strcmp(action, IAI_ACTION_DELETE_PERSON_FROM_GROUP) == 0;
	ctx.action = action;
	ctx.person = param_id(params, "PersonId", delete_action);
	ctx.group = param_id(params, "GroupId", delete_action);
	ctx.url = iai_endpoint()->url;

	body = build_body(params, &body_len);
	iai_resolve_credentials(&creds);

	ctx.attempts = 1;
	send_signed(&ctx, &creds, body, body_len, &resp);
	if (resp.outcome != HTTP_DONE)
		raise_transport_error(&ctx, &resp);
	if (resp.status != 200)
	{
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("the IAI endpoint answered HTTP %ld instead of 200", resp.status),
				 ctx_detail(&ctx, NULL),
				 resp.body_len > 0 ? errhint("The answer began: %s",
											 excerpt(resp.body, resp.body_len)) : 0));
	}

	response = interpret_answer(&ctx, resp.body, resp.body_len, flags, result);

	/* hand the results to the caller's context, then drop the rest */
	MemoryContextSwitchTo(oldcxt);
	result->attempts = ctx.attempts;
	if (response != NULL)
	{
		result->response = palloc(VARSIZE(response));
		memcpy(result->response, response, VARSIZE(response));
	}
	result->request_id = pstrdup(result->request_id);
	if (result->accepted_code != NULL)
		result->accepted_code = pstrdup(result->accepted_code);
	MemoryContextDelete(callcxt);
}
