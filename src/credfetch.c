/*-------------------------------------------------------------------------
 *
 * credfetch.c
 *		Temporary credentials from the CVM instance metadata service and
 *		from STS AssumeRoleWithWebIdentity (TKE workload identity).
 *
 * One fetch, nothing kept: credentials.c decides when to fetch, shares the
 * result and remembers failures.  A failure of the source (unreachable,
 * no role bound, refused, an unusable answer) is described in the result
 * rather than raised, in the words an ERROR will use; it never quotes an
 * answer's body, which may hold a key.  Bodies and the web identity token
 * are wiped once read.
 *
 * The requests are those of the official SDKs (CvmRoleProvider,
 * OIDCRoleArnProvider): plain GETs of the metadata service, and an STS
 * request that is not signed ("Authorization: SKIP"), the web identity
 * token being the proof.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <time.h>

#include "common/jsonapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "mb/pg_wchar.h"
#include "storage/fd.h"
#include "utils/json.h"

#include "answer.h"
#include "credfetch.h"
#include "http.h"
#include "settings.h"
#include "stats.h"

#define METADATA_PATH "/latest/meta-data/cam/security-credentials/"
#define METADATA_CONNECT_TIMEOUT_MS 1000
#define METADATA_TIMEOUT_MS 3000
#define MAX_ANSWER_BYTES (256 * 1024)
#define MAX_WEB_IDENTITY_TOKEN_BYTES (64 * 1024)
#define OIDC_DURATION_S 7200	/* the SDKs' default */
#define STS_VERSION "2018-08-13"
#define STS_ACTION "AssumeRoleWithWebIdentity"

/* ---- picking a few scalars out of a JSON object ---- */

#define PICK_DEPTH IAI_JSON_DEPTH

typedef struct Pick
{
	const char *path[PICK_DEPTH];	/* keys from the top, NULL-terminated */
	char	   *value;			/* the scalar's text, or NULL */
	bool		is_string;
	bool		is_number;
} Pick;

#define PICK(...) {.path = {__VA_ARGS__}}

typedef struct PickState
{
	IaiJsonWalk walk;			/* first: the callbacks get its address */
	Pick	   *picks;
	int			npicks;
} PickState;

static Pick *
pick_here(PickState *s)
{
	for (int i = 0; i < s->npicks; i++)
	{
		Pick	   *p = &s->picks[i];
		int			n = 0;
		bool		match = true;

		while (n < PICK_DEPTH && p->path[n] != NULL)
			n++;
		if (n != s->walk.depth)
			continue;
		for (int d = 1; d <= n && match; d++)
			match = s->walk.key[d] != NULL && strcmp(s->walk.key[d], p->path[d - 1]) == 0;
		if (match)
			return p;
	}
	return NULL;
}

static void
wipe(char *s)
{
	if (s != NULL)
	{
		explicit_bzero(s, strlen(s));
		pfree(s);
	}
}

/* A value starts here: whatever it replaces (duplicate keys) is dropped. */
static void
pick_value_starts(IaiJsonWalk *walk, JsonTokenType type)
{
	Pick	   *p = pick_here((PickState *) walk);

	if (p != NULL)
	{
		wipe(p->value);
		p->value = NULL;
		p->is_string = p->is_number = false;
	}
}

static void
pick_scalar(IaiJsonWalk *walk, char *token, JsonTokenType type)
{
	Pick	   *p = pick_here((PickState *) walk);

	if (p != NULL && token != NULL)
	{
		p->value = token;
		p->is_string = (type == JSON_TOKEN_STRING);
		p->is_number = (type == JSON_TOKEN_NUMBER);
	}
	else
		wipe(token);
}

/*
 * Fill picks[].value from body, a JSON object.  Returns false if body is
 * not a JSON object in UTF-8.
 */
static bool
pick_json(const char *body, size_t len, Pick *picks, int npicks)
{
	PickState	state;
	JsonParseErrorType rc;
	char	   *text;
	size_t		text_len;

	if (len == 0 || len > INT_MAX || memchr(body, '\0', len) != NULL ||
		pg_encoding_verifymbstr(PG_UTF8, body, (int) len) != (int) len)
		return false;
	/* as for the API's answers: no \u escape may raise an encoding error */
	text = iai_unescape_non_ascii(body, len, &text_len);
	memset(&state, 0, sizeof(state));
	state.walk.value_starts = pick_value_starts;
	state.walk.scalar = pick_scalar;
	state.picks = picks;
	state.npicks = npicks;
	rc = iai_walk_json(text, text_len, &state.walk);
	/* it holds credentials */
	explicit_bzero(text, text_len);
	pfree(text);
	return rc == JSON_SUCCESS && state.walk.top_is_object;
}

/* ---- results ---- */

static bool
fail(IaiTempFetch *out, int sqlstate, bool absent, char *message, char *detail,
	 char *hint)
{
	out->ok = false;
	out->absent = absent;
	out->sqlstate = sqlstate;
	out->message = message;
	out->detail = detail;
	out->hint = hint;
	return false;
}

/* A failure to get an answer from what (e.g. "the CVM metadata service"). */
static bool
fail_transport(IaiTempFetch *out, const char *what, const char *url,
			   const HttpResponse *r, bool absent_if_unreachable, const char *hint)
{
	int			sqlstate = ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;
	bool		unreachable = false;
	char	   *message;

	switch (r->outcome)
	{
		case HTTP_RESOLVE_FAILED:
		case HTTP_CONNECT_FAILED:
			message = psprintf("could not connect to %s", what);
			unreachable = true;
			break;
		case HTTP_TIMED_OUT:
			sqlstate = ERRCODE_CONNECTION_FAILURE;
			message = psprintf("request to %s timed out", what);
			unreachable = true;
			break;
		case HTTP_TLS_FAILED:
		case HTTP_TLS_UNTRUSTED:
		case HTTP_TLS_UNVERIFIED:
			message = psprintf("could not establish a verified TLS connection to %s", what);
			hint = "Its certificate must be valid for the host name and issued by a CA the server trusts (see \"iai.ca_file\").";
			break;
		case HTTP_CA_UNREADABLE:
			message = psprintf("could not read the CA certificates to verify %s", what);
			hint = "Set \"iai.ca_file\" to a readable file of PEM certificates, or to '' for the system's.";
			break;
		case HTTP_CONNECTION_LOST:
			sqlstate = ERRCODE_CONNECTION_FAILURE;
			message = psprintf("connection to %s was lost before a full answer arrived", what);
			break;
		case HTTP_TOO_LARGE:
			sqlstate = ERRCODE_PROTOCOL_VIOLATION;
			message = psprintf("the answer of %s is larger than %d bytes", what,
							   MAX_ANSWER_BYTES);
			break;
		default:
			sqlstate = ERRCODE_CONNECTION_EXCEPTION;
			message = psprintf("request to %s failed", what);
			break;
	}
	return fail(out, sqlstate, unreachable && absent_if_unreachable, message,
				r->message[0] ? psprintf("URL: %s. libcurl: %s.", url, r->message) :
				psprintf("URL: %s.", url),
				hint ? pstrdup(hint) : NULL);
}

/* Text from an answer, for a message: in the database's encoding, one line. */
static char *
printable(const char *utf8, int max)
{
	bool		utf8_db = GetDatabaseEncoding() == PG_UTF8;
	int			len = (int) strlen(utf8);
	char	   *s;

	/* pick_json() made sure it is UTF-8: cut between characters */
	s = pnstrdup(utf8, utf8_db ? pg_encoding_mbcliplen(PG_UTF8, utf8, len, max) : Min(len, max));
	for (char *c = s; *c; c++)
		if ((unsigned char) *c < 0x20 || *c == 0x7f || (!utf8_db && IS_HIGHBIT_SET(*c)))
			*c = '?';
	return s;
}

/*
 * Check a picked credential: present, a string, within its limit, usable
 * as header text.  Returns NULL if fine, else what is wrong.
 */
static char *
credential_problem(const Pick *p, const char *name, size_t limit)
{
	if (p->value == NULL || !p->is_string || p->value[0] == '\0')
		return psprintf("it has no %s", name);
	if (strlen(p->value) > limit)
		return psprintf("its %s is longer than %zu bytes", name, limit);
	for (const char *c = p->value; *c; c++)
		if ((unsigned char) *c < 0x21 || *c == 0x7f)
			return psprintf("its %s holds blanks or control characters", name);
	return NULL;
}

/* An ExpiredTime: a positive integer of Unix seconds. */
static bool
parse_expiry(const Pick *p, int64 *out)
{
	char	   *end;
	long long	v;

	if (p->value == NULL || !p->is_number || strspn(p->value, "0123456789") != strlen(p->value))
		return false;
	errno = 0;
	v = strtoll(p->value, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return false;
	*out = (int64) v;
	return true;
}

/* Move the picked credentials to out; wipe everything else. */
static bool
take_credentials(IaiTempFetch *out, Pick *id, Pick *key, Pick *token,
				 Pick *picks, int npicks)
{
	out->ok = true;
	out->secret_id = id->value;
	out->secret_key = key->value;
	out->token = token->value;
	id->value = key->value = token->value = NULL;
	for (int i = 0; i < npicks; i++)
	{
		wipe(picks[i].value);
		picks[i].value = NULL;
	}
	return true;
}

static void
wipe_picks(Pick *picks, int npicks)
{
	for (int i = 0; i < npicks; i++)
	{
		wipe(picks[i].value);
		picks[i].value = NULL;
	}
}

static void
wipe_body(HttpResponse *r)
{
	if (r->body != NULL)
	{
		explicit_bzero(r->body, r->body_len);
		pfree(r->body);
		r->body = NULL;
	}
}

/* ---- the CVM role ---- */

#define METADATA "the CVM metadata service"
#define METADATA_HINT "Outside a Tencent Cloud CVM instance, set \"iai.credentials\" to the source to use; otherwise check \"iai.metadata_url\"."

static bool
role_name_ok(const char *s)
{
	size_t		n = strlen(s);

	return n > 0 && n <= IAI_ROLE_NAME_MAX &&
		strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-") == n;
}

static void
metadata_get(const char *url, HttpResponse *resp)
{
	HttpRequest req = {0};
	const char *headers[] = {"Accept: */*"};

	req.url = url;
	req.headers = headers;
	req.nheaders = lengthof(headers);
	req.connect_timeout_ms = METADATA_CONNECT_TIMEOUT_MS;
	req.timeout_ms = METADATA_TIMEOUT_MS;
	req.ca_file = iai_ca_file;
	req.wait_event = iai_wait_event(IAI_WAIT_HTTP);
	req.max_response = MAX_ANSWER_BYTES;
	http_get(&req, resp);
}

bool
iai_fetch_cvm_role(const char *metadata_url, const char *role, IaiTempFetch *out)
{
	HttpResponse resp;
	char	   *url;
	Pick		picks[] = {
		PICK("TmpSecretId"), PICK("TmpSecretKey"), PICK("Token"), PICK("ExpiredTime"), PICK("Code")
	};
	char	   *problem;

	memset(out, 0, sizeof(*out));

	/* which role: the one given, else the one bound to the instance */
	if (role == NULL || role[0] == '\0')
	{
		char	   *name;

		url = psprintf("%s" METADATA_PATH, metadata_url);
		metadata_get(url, &resp);
		if (resp.outcome != HTTP_DONE)
			return fail_transport(out, METADATA, url, &resp, true, METADATA_HINT);
		if (resp.status == 404)
			return fail(out, ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, true,
						pstrdup("no CAM role is bound to this CVM instance"),
						psprintf("The metadata service answered HTTP 404 at %s.", url),
						pstrdup("Bind a role to the instance in the CVM console, or set \"iai.credentials\" to another source."));
		if (resp.status != 200)
			return fail(out, ERRCODE_PROTOCOL_VIOLATION, false,
						psprintf(METADATA " answered HTTP %ld", resp.status),
						psprintf("URL: %s.", url), NULL);
		/* the first line, trimmed */
		name = resp.body;
		name[strcspn(name, "\r\n")] = '\0';
		while (*name == ' ' || *name == '\t')
			name++;
		for (char *e = name + strlen(name); e > name && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = '\0';
		if (!role_name_ok(name))
			return fail(out, ERRCODE_PROTOCOL_VIOLATION, false,
						pstrdup(METADATA " named a role that is not a CAM role name"),
						psprintf("URL: %s. A role name is 1 to %d letters, digits and +=,.@_-.",
								 url, IAI_ROLE_NAME_MAX),
						pstrdup("Set \"iai.cvm_role\" to the role's name."));
		role = pstrdup(name);
	}
	out->role = pstrdup(role);

	url = psprintf("%s" METADATA_PATH "%s", metadata_url, role);
	metadata_get(url, &resp);
	if (resp.outcome != HTTP_DONE)
		return fail_transport(out, METADATA, url, &resp, true, METADATA_HINT);
	if (resp.status == 404)
		return fail(out, ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, false,
					psprintf(METADATA " has no credentials for CAM role \"%s\"", role),
					psprintf("It answered HTTP 404 at %s.", url),
					pstrdup("The role must be bound to this instance; \"iai.cvm_role\" names it, or is empty to use the role bound."));
	if (resp.status != 200)
	{
		wipe_body(&resp);
		return fail(out, ERRCODE_PROTOCOL_VIOLATION, false,
					psprintf(METADATA " answered HTTP %ld", resp.status),
					psprintf("URL: %s.", url), NULL);
	}

	if (!pick_json(resp.body, resp.body_len, picks, lengthof(picks)))
	{
		wipe_body(&resp);
		wipe_picks(picks, lengthof(picks));
		return fail(out, ERRCODE_PROTOCOL_VIOLATION, false,
					psprintf("the answer of " METADATA " for CAM role \"%s\" is not a JSON object", role),
					psprintf("URL: %s. The answer is not shown, since it may hold a key.", url), NULL);
	}
	wipe_body(&resp);

	if (picks[4].value == NULL || !picks[4].is_string || strcmp(picks[4].value, "Success") != 0)
	{
		char	   *code = picks[4].value && picks[4].is_string ?
			psprintf("Code \"%s\"", printable(picks[4].value, 64)) : pstrdup("no Code");

		wipe_picks(picks, lengthof(picks));
		return fail(out, ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, false,
					psprintf("could not get credentials for CAM role \"%s\" from " METADATA, role),
					psprintf("It answered %s instead of Code \"Success\". URL: %s.", code, url),
					pstrdup("Check the role in the CAM console, and that it is bound to this instance."));
	}
	problem = credential_problem(&picks[0], "TmpSecretId", IAI_TMP_ID_MAX);
	if (problem == NULL)
		problem = credential_problem(&picks[1], "TmpSecretKey", IAI_TMP_KEY_MAX);
	if (problem == NULL)
		problem = credential_problem(&picks[2], "Token", IAI_TMP_TOKEN_MAX);
	if (problem == NULL && !parse_expiry(&picks[3], &out->expires_at))
		problem = "its ExpiredTime is not a number of Unix seconds";
	if (problem != NULL)
	{
		wipe_picks(picks, lengthof(picks));
		return fail(out, ERRCODE_PROTOCOL_VIOLATION, false,
					psprintf("the answer of " METADATA " for CAM role \"%s\" is unusable: %s", role, problem),
					psprintf("URL: %s.", url), NULL);
	}
	return take_credentials(out, &picks[0], &picks[1], &picks[2], picks, lengthof(picks));
}

/* ---- TKE workload identity ---- */

#define STS "STS"

/* The web identity token, read afresh each time (it is rotated). */
static char *
read_web_identity_token(const char *path, IaiTempFetch *out)
{
	FILE	   *f;
	char	   *buf = palloc(MAX_WEB_IDENTITY_TOKEN_BYTES + 1);
	size_t		n;
	char	   *s = buf;
	char	   *e;
	const char *problem = NULL;

	f = AllocateFile(path, "r");
	if (f == NULL)
	{
		fail(out, ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, false,
			 psprintf("could not open web identity token file \"%s\": %m", path),
			 pstrdup("TKE_WEB_IDENTITY_TOKEN_FILE in the server's environment names it."),
			 NULL);
		return NULL;
	}
	n = fread(buf, 1, MAX_WEB_IDENTITY_TOKEN_BYTES + 1, f);
	FreeFile(f);
	if (n > MAX_WEB_IDENTITY_TOKEN_BYTES)
		problem = psprintf("is larger than %d bytes", MAX_WEB_IDENTITY_TOKEN_BYTES);
	else if (memchr(buf, '\0', n) != NULL)
		problem = "holds a zero byte";
	else
	{
		buf[n] = '\0';
		/* a JSON web token has no blanks: a final newline is no part of it */
		for (s = buf; *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'; s++)
			;
		for (e = s + strlen(s); e > s && strchr(" \t\n\r", e[-1]) != NULL;)
			*--e = '\0';
		if (*s == '\0')
			problem = "holds no token";
		else
		{
			for (const char *c = s; *c && problem == NULL; c++)
				if ((unsigned char) *c <= 0x20 || *c == 0x7f)
					problem = "holds blanks or control characters within the token";
		}
	}
	if (problem != NULL)
	{
		explicit_bzero(buf, MAX_WEB_IDENTITY_TOKEN_BYTES + 1);
		fail(out, ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, false,
			 psprintf("web identity token file \"%s\" %s", path, problem),
			 pstrdup("TKE_WEB_IDENTITY_TOKEN_FILE in the server's environment names it."),
			 NULL);
		return NULL;
	}
	if (s != buf)
		memmove(buf, s, strlen(s) + 1);
	return buf;
}

static void
append_json_member(StringInfo buf, const char *name, const char *value)
{
	if (buf->len > 1)
		appendStringInfoString(buf, ", ");
	escape_json(buf, name);
	appendStringInfoString(buf, ": ");
	escape_json(buf, value);
}

bool
iai_fetch_oidc(const char *sts_url, const IaiOidcConfig *config, IaiTempFetch *out)
{
	char	   *web_token;
	StringInfoData body;
	HttpRequest req = {0};
	HttpResponse resp;
	const char *headers[8];
	int			n = 0;
	char	   *url = psprintf("%s/", sts_url);
	Pick		picks[] = {
		PICK("Response", "Credentials", "TmpSecretId"),
		PICK("Response", "Credentials", "TmpSecretKey"),
		PICK("Response", "Credentials", "Token"),
		PICK("Response", "ExpiredTime"),
		PICK("Response", "Error", "Code"),
		PICK("Response", "Error", "Message"),
		PICK("Response", "RequestId"),
	};
	char	   *problem;
	char	   *where;

	memset(out, 0, sizeof(*out));
	where = psprintf("RoleArn: %s, ProviderId: %s, region: %s. Endpoint: %s.",
					 config->role_arn, config->provider_id, config->region, url);

	web_token = read_web_identity_token(config->token_file, out);
	if (web_token == NULL)
		return false;

	initStringInfo(&body);
	appendStringInfoChar(&body, '{');
	append_json_member(&body, "ProviderId", config->provider_id);
	append_json_member(&body, "WebIdentityToken", web_token);
	append_json_member(&body, "RoleArn", config->role_arn);
	append_json_member(&body, "RoleSessionName",
					   psprintf("iai-postgresql-%d-%lld", MyProcPid, (long long) time(NULL)));
	appendStringInfo(&body, ", \"DurationSeconds\": %d}", OIDC_DURATION_S);
	explicit_bzero(web_token, strlen(web_token));

	headers[n++] = "Content-Type: application/json";
	headers[n++] = "X-TC-Action: " STS_ACTION;
	headers[n++] = "X-TC-Version: " STS_VERSION;
	headers[n++] = psprintf("X-TC-Timestamp: %lld", (long long) time(NULL));
	headers[n++] = psprintf("X-TC-Region: %s", config->region);
	headers[n++] = "Authorization: SKIP";	/* the web identity token is the
											 * proof */
	headers[n++] = "Expect:";
	req.url = url;
	req.headers = headers;
	req.nheaders = n;
	req.body = body.data;
	req.body_len = body.len;
	req.connect_timeout_ms = iai_connect_timeout_ms;
	req.timeout_ms = iai_timeout_ms;
	req.ca_file = iai_ca_file;
	req.wait_event = iai_wait_event(IAI_WAIT_HTTP);
	req.max_response = MAX_ANSWER_BYTES;
	PG_TRY();
	{
		http_post(&req, &resp);
	}
	PG_FINALLY();
	{
		explicit_bzero(body.data, body.len);
	}
	PG_END_TRY();

	if (resp.outcome != HTTP_DONE)
		return fail_transport(out, STS, url, &resp, false,
							  "Check \"iai.sts_endpoint\" and that the database server may reach it.");
	if (resp.status != 200)
	{
		wipe_body(&resp);
		return fail(out, ERRCODE_PROTOCOL_VIOLATION, false,
					psprintf(STS " answered HTTP %ld", resp.status),
					psprintf("URL: %s.", url), NULL);
	}
	if (!pick_json(resp.body, resp.body_len, picks, lengthof(picks)))
	{
		wipe_body(&resp);
		wipe_picks(picks, lengthof(picks));
		return fail(out, ERRCODE_PROTOCOL_VIOLATION, false,
					pstrdup("the answer of " STS " to " STS_ACTION " is not a JSON object"),
					psprintf("%s The answer is not shown, since it may hold a key.", where), NULL);
	}
	wipe_body(&resp);

	if (picks[4].value != NULL)
	{
		char	   *code = picks[4].is_string ? printable(picks[4].value, 80) : "?";
		char	   *message = picks[5].value && picks[5].is_string ?
			printable(picks[5].value, 300) : "";
		char	   *rid = picks[6].value && picks[6].is_string ?
			psprintf("RequestId: %s. ", printable(picks[6].value, 80)) : "";

		wipe_picks(picks, lengthof(picks));
		return fail(out, ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, false,
					psprintf("could not assume the role with the TKE web identity: %s: %s",
							 code, message),
					psprintf("%s%s", rid, where),
					pstrdup("Check TKE_ROLE_ARN and TKE_PROVIDER_ID, that the role trusts the identity provider, and that the token file is current."));
	}
	problem = credential_problem(&picks[0], "Credentials.TmpSecretId", IAI_TMP_ID_MAX);
	if (problem == NULL)
		problem = credential_problem(&picks[1], "Credentials.TmpSecretKey", IAI_TMP_KEY_MAX);
	if (problem == NULL)
		problem = credential_problem(&picks[2], "Credentials.Token", IAI_TMP_TOKEN_MAX);
	if (problem == NULL && !parse_expiry(&picks[3], &out->expires_at))
		problem = "its ExpiredTime is not a number of Unix seconds";
	if (problem != NULL)
	{
		wipe_picks(picks, lengthof(picks));
		return fail(out, ERRCODE_PROTOCOL_VIOLATION, false,
					psprintf("the answer of " STS " to " STS_ACTION " is unusable: %s", problem),
					pstrdup(where), NULL);
	}
	return take_credentials(out, &picks[0], &picks[1], &picks[2], picks, lengthof(picks));
}
