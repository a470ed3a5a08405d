/*-------------------------------------------------------------------------
 *
 * settings.c
 *		The iai.* configuration parameters.
 *
 * Whatever decides where a signed request goes (endpoint), which file the
 * server reads (CA file) or which credentials sign it is PGC_SUSET.  Secrets
 * are GUC_SUPERUSER_ONLY, and every check hook on them sets its own message
 * so that PostgreSQL's default "invalid value ... : <value>" never echoes a
 * secret.  Values that become HTTP header text are refused if they contain
 * control characters, so no setting can inject a header.  Which
 * credentials sign a call is decided in credentials.c.
 *
 * A value that decides where calls go (endpoint, CA file, proxy) and is
 * invalid is refused outright where someone typing it hears of it (SET,
 * ALTER SYSTEM, ALTER ROLE/DATABASE SET).  From anywhere else (the
 * configuration files at start or reload, settings applied when a session
 * starts, placeholders taken over when the library loads) PostgreSQL would
 * only log the refusal and fall back to the old value or the default, which
 * for iai.endpoint is the production service.  Such a value is kept, marked
 * refused in the GUC "extra", and every call fails naming it until it is
 * corrected.
 *
 * The credential settings cannot be stored with ALTER ROLE/DATABASE SET or
 * a function's SET clause: pg_db_role_setting and pg_proc are readable by
 * every role.  Values stored there while the library was not loaded are
 * refused when a session applies them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include <curl/curl.h>

#include "tcop/pquery.h"
#include "utils/guc.h"

#include "compat.h"
#include "credentials.h"
#include "settings.h"
#include "shmem.h"
#include "stats.h"

static const struct config_enum_entry log_requests_options[] = {
	{"off", IAI_LOG_OFF, false},
	{"errors", IAI_LOG_ERRORS, false},
	{"all", IAI_LOG_ALL, false},
	{NULL, 0, false}
};

char	   *iai_secret_id = NULL;
char	   *iai_secret_key = NULL;
char	   *iai_session_token = NULL;
char	   *iai_region = NULL;
char	   *iai_language = NULL;
char	   *iai_ca_file = NULL;
int			iai_timeout_ms = 10000;
int			iai_connect_timeout_ms = 5000;
int			iai_total_timeout_ms = 30000;
int			iai_max_retries = 2;
int			iai_rate_limit = 50;
char	   *iai_database_name = NULL;
int			iai_queue_max_attempts = 10;
int			iai_queue_retry_interval_ms = 5000;
int			iai_queue_max_in_flight = 32;
int			iai_queue_retention_s = 86400;
int			iai_queue_pause_warning_s = 300;

char	   *iai_proxy = NULL;

static char *endpoint_string = NULL;
static IaiEndpoint *endpoint_parsed = NULL;
static IaiRefused *ca_file_refused = NULL;
static IaiProxy *proxy_parsed = NULL;

/* Set while the library defines its settings (taking over placeholders). */
static bool defining_settings = false;

bool
iai_has_control_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x20 || (unsigned char) *s == 0x7f)
			return true;
	return false;
}

bool
iai_has_surrounding_space(const char *s)
{
	size_t		n = strlen(s);

	return n > 0 && (isspace((unsigned char) s[0]) ||
					 isspace((unsigned char) s[n - 1]));
}

/*
 * Shared check for values that travel in HTTP headers.  Sets its own
 * message so a refused value is never repeated back.
 */
static bool
check_header_text(const char *name, const char *value, bool secret)
{
	if (value == NULL)
		return true;
	if (iai_has_control_chars(value))
	{
		GUC_check_errmsg("invalid value for parameter \"%s\"", name);
		GUC_check_errdetail("The value contains control characters.");
		return false;
	}
	if (secret && iai_has_surrounding_space(value))
	{
		GUC_check_errmsg("invalid value for parameter \"%s\"", name);
		GUC_check_errdetail("The value has leading or trailing whitespace.");
		GUC_check_errhint("Copy the credential again without surrounding spaces.");
		return false;
	}
	return true;
}

/*
 * Whether an invalid value of a setting that decides where calls go is
 * refused now, or kept marked refused (see the file's header).  ALTER
 * SYSTEM validates with PGC_S_FILE too, but runs as a statement, with a
 * portal active, which a configuration reload never does.
 */
static bool
refuse_outright(GucSource source)
{
	if (defining_settings)
		return false;
	if (source == PGC_S_FILE)
		return ActivePortal != NULL;
	return source >= PGC_S_CLIENT;
}

/*
 * An "extra" for a value kept although invalid: the problem, and the value
 * as it may be shown (NULL when it must not be repeated).  One chunk, as
 * GUC frees an extra as a whole; size is that of the struct that starts
 * with an IaiRefused.
 */
static void *
refused_extra(size_t size, const char *problem, const char *shown)
{
	size_t		plen = strlen(problem) + 1;
	size_t		slen = shown ? strlen(shown) + 1 : 0;
	char	   *chunk = iai_guc_malloc(size + plen + slen);
	IaiRefused *r = (IaiRefused *) chunk;

	if (chunk == NULL)
		return NULL;
	memset(chunk, 0, size);
	r->problem = memcpy(chunk + size, problem, plen);
	r->shown = shown ? memcpy(chunk + size + plen, shown, slen) : NULL;
	return chunk;
}

/*
 * A check hook's verdict on an invalid value: refuse it (false), or keep it
 * with an extra saying why it is refused (true).  A value shown is one
 * that may be repeated in messages.
 */
static bool
invalid_value(const char *name, const char *problem, const char *shown,
			  size_t extra_size, void **extra, GucSource source)
{
	if (refuse_outright(source))
	{
		if (shown == NULL)
			GUC_check_errmsg("invalid value for parameter \"%s\"", name);
		GUC_check_errdetail("%s", problem);
		return false;
	}
	*extra = refused_extra(extra_size, problem, shown);
	if (*extra == NULL)
		return false;
	/* the postmaster, at start or reload: say so in the log at once */
	if (!IsUnderPostmaster)
		ereport(LOG,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 shown ? errmsg("invalid value for parameter \"%s\": \"%s\"", name, shown) :
				 errmsg("invalid value for parameter \"%s\"", name),
				 errdetail("%s Calls of iai fail until it is corrected.", problem),
				 errhint("Correct \"%s\" and reload the configuration.", name)));
	return true;
}

/*
 * Keep a URL whose user information may hold a password, but visible to
 * every role through SHOW, with that part masked.
 */
static bool
mask_user_info(char **newval)
{
	char	   *scheme_end = strstr(*newval, "://");
	char	   *start = scheme_end ? scheme_end + 3 : *newval;
	char	   *at = strrchr(start, '@');
	char	   *masked;

	if (at == NULL)
		return true;
	masked = iai_guc_malloc((start - *newval) + 8 + strlen(at) + 1);
	if (masked == NULL)
		return false;
	sprintf(masked, "%.*s********%s", (int) (start - *newval), *newval, at);
	iai_guc_free(*newval);
	*newval = masked;
	return true;
}

/*
 * invalid_value for a URL, which is not repeated, and is kept only with its
 * user information masked, when that is what is wrong with it: that part
 * may hold a password.
 */
static bool
invalid_url(const char *name, const char *problem, bool user_info,
			char **newval, size_t extra_size, void **extra, GucSource source)
{
	if (!invalid_value(name, problem, user_info ? NULL : *newval,
					   extra_size, extra, source))
		return false;
	return !user_info || mask_user_info(newval);
}

/* Raise the error for a setting kept although refused. */
static void
raise_refused(const char *name, const IaiRefused *r)
{
	ereport(ERROR,
			(errcode(ERRCODE_CONFIG_FILE_ERROR),
			 r->shown ? errmsg("invalid value for parameter \"%s\": \"%s\"", name, r->shown) :
			 errmsg("invalid value for parameter \"%s\"", name),
			 errdetail("%s No request is sent until the setting is corrected.", r->problem),
			 errhint("Correct \"%s\" where it is set (the configuration file, ALTER SYSTEM, ALTER DATABASE or ALTER ROLE) and reload the configuration.",
					 name)));
}

/*
 * Where each credential setting's value came from.  Until the library is
 * loaded, a value from the configuration files or the server's command
 * line is an ordinary placeholder that every role can read, so it is used
 * only when the library is loaded before any query runs (see
 * credentials.c).  A value from ALTER ROLE/DATABASE SET, stored while the
 * library was not loaded to refuse it, is never used.  The origin travels
 * as the value's "extra", so SET, RESET and transaction rollback keep it
 * right.
 */
typedef enum
{
	SECRET_ID,
	SECRET_KEY,
	SESSION_TOKEN,
	NUM_SECRETS
} SecretSetting;

typedef enum
{
	FROM_SESSION,				/* SET, or the default */
	FROM_SERVER_CONFIG,			/* postgresql.conf, ALTER SYSTEM, command line */
	FROM_CATALOG				/* ALTER ROLE/DATABASE SET: readable by all */
} SecretOrigin;

static const char *const secret_names[NUM_SECRETS] = {
	"iai.secret_id", "iai.secret_key", "iai.session_token"
};
static SecretOrigin secret_origin[NUM_SECRETS];

bool		iai_loaded_at_start = false;

#define SECRETS_BELONG_HINT IAI_SECRETS_BELONG_HINT

static bool
check_secret(SecretSetting which, char **newval, void **extra, GucSource source)
{
	SecretOrigin *origin;

	/*
	 * ALTER ROLE/DATABASE SET and a function's SET clause are validated with
	 * PGC_S_TEST and stored in catalogs every role can read.
	 */
	if (source == PGC_S_TEST)
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("\"%s\" cannot be stored with ALTER ROLE, ALTER DATABASE or a function's SET clause",
						 secret_names[which]);
		GUC_check_errdetail("Every role can read the settings stored there.");
		GUC_check_errhint(SECRETS_BELONG_HINT);
		return false;
	}
	if (!check_header_text(secret_names[which], *newval, true))
		return false;
	origin = iai_guc_malloc(sizeof(SecretOrigin));
	if (origin == NULL)
		return false;
	if (source == PGC_S_FILE || source == PGC_S_ARGV)
		*origin = FROM_SERVER_CONFIG;
	else if (source >= PGC_S_GLOBAL && source <= PGC_S_DATABASE_USER)
		*origin = FROM_CATALOG;
	else
		*origin = FROM_SESSION;
	*extra = origin;
	return true;
}

static bool
check_secret_id(char **newval, void **extra, GucSource source)
{
	return check_secret(SECRET_ID, newval, extra, source);
}

static bool
check_secret_key(char **newval, void **extra, GucSource source)
{
	return check_secret(SECRET_KEY, newval, extra, source);
}

static bool
check_session_token(char **newval, void **extra, GucSource source)
{
	return check_secret(SESSION_TOKEN, newval, extra, source);
}

static void
assign_secret_id(const char *newval, void *extra)
{
	secret_origin[SECRET_ID] = extra ? *(SecretOrigin *) extra : FROM_SESSION;
}

static void
assign_secret_key(const char *newval, void *extra)
{
	secret_origin[SECRET_KEY] = extra ? *(SecretOrigin *) extra : FROM_SESSION;
}

static void
assign_session_token(const char *newval, void *extra)
{
	secret_origin[SESSION_TOKEN] = extra ? *(SecretOrigin *) extra : FROM_SESSION;
}

static bool
check_ca_file(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && iai_has_control_chars(*newval))
		return invalid_value("iai.ca_file", "The file name contains control characters.",
							 NULL, sizeof(IaiRefused), extra, source);
	return true;
}

static void
assign_ca_file(const char *newval, void *extra)
{
	ca_file_refused = (IaiRefused *) extra;
}

static bool
check_region(char **newval, void **extra, GucSource source)
{
	const char *s = *newval;

	if (s == NULL)
		return true;
	if (strlen(s) > 64 || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(s))
	{
		GUC_check_errdetail("A region is lowercase letters, digits and hyphens, such as \"ap-guangzhou\".");
		return false;
	}
	return true;
}

static bool
check_language(char **newval, void **extra, GucSource source)
{
	const char *s = *newval;
	const char *canonical;

	if (s == NULL || s[0] == '\0')
		return true;
	if (pg_strcasecmp(s, "zh-CN") == 0)
		canonical = "zh-CN";
	else if (pg_strcasecmp(s, "en-US") == 0)
		canonical = "en-US";
	else
	{
		GUC_check_errdetail("Valid values are \"zh-CN\", \"en-US\" and \"\" (the service's default).");
		return false;
	}
	if (strcmp(s, canonical) != 0)
	{
		char	   *copy = iai_guc_strdup(canonical);

		if (copy == NULL)
			return false;
		iai_guc_free(*newval);
		*newval = copy;
	}
	return true;
}

/*
 * The parts of a URL as libcurl reads it, so that what a setting's check
 * judges is what libcurl will connect to.  The strings are libcurl's, NULL
 * where the URL has no such part; free_url_parts frees them.
 */
typedef struct UrlParts
{
	char	   *scheme;
	char	   *host;
	char	   *port;
	char	   *path;
	bool		user;			/* user information, which may hold a password */
	bool		query_or_fragment;
} UrlParts;

/*
 * Read the parts of value with libcurl's URL parser and its flags.  Returns
 * 1 if it is a URL with a scheme, 0 if not, -1 if libcurl ran out of memory.
 */
static int
get_url_parts(const char *value, unsigned int flags, UrlParts *parts)
{
	CURLU	   *u = curl_url();
	char	   *part = NULL;
	int			parsed = 0;

	memset(parts, 0, sizeof(UrlParts));
	if (u == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, value, flags) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_SCHEME, &parts->scheme, 0) == CURLUE_OK)
	{
		parsed = 1;
		(void) curl_url_get(u, CURLUPART_HOST, &parts->host, 0);
		(void) curl_url_get(u, CURLUPART_PORT, &parts->port, 0);
		(void) curl_url_get(u, CURLUPART_PATH, &parts->path, 0);
		parts->user = curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK;
		curl_free(part);
		part = NULL;
		parts->query_or_fragment =
			curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
			curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK;
		curl_free(part);
	}
	curl_url_cleanup(u);
	return parsed;
}

static void
free_url_parts(UrlParts *parts)
{
	curl_free(parts->scheme);
	curl_free(parts->host);
	curl_free(parts->port);
	curl_free(parts->path);
}

/* A path that is more than "/". */
static bool
url_has_path(const UrlParts *parts)
{
	return parts->path != NULL && strcmp(parts->path, "/") != 0 &&
		parts->path[0] != '\0';
}

/*
 * A base URL, checked once for the three settings that name one (see
 * settings.h), so that they accept and refuse the same URLs.
 */
const char *
iai_check_base_url(const char *value, const char *path_problem,
				   char **origin, bool *user_info)
{
	UrlParts	url;
	int			parsed = get_url_parts(value, 0, &url);
	const char *problem = NULL;

	*origin = NULL;
	*user_info = false;
	if (parsed < 0)
		return NULL;
	if (parsed == 0)
		problem = "It is not a URL with a scheme and a host name.";
	else if (strcmp(url.scheme, "http") != 0 && strcmp(url.scheme, "https") != 0)
		problem = "Only the http and https schemes are supported.";
	else if (url.host == NULL || url.host[0] == '\0')
		problem = "The URL has no host name.";
	else if (url.user)
	{
		/* it may hold a password: the caller must not repeat the value */
		*user_info = true;
		problem = "The URL must not contain user information.";
	}
	else if (url.query_or_fragment)
		problem = "The URL must not have a query or a fragment.";
	else if (url_has_path(&url))
		problem = path_problem;

	/* whatever is refused first, a value with an "@" is not repeated */
	if (problem != NULL && strchr(value, '@') != NULL)
		*user_info = true;

	if (problem == NULL)
	{
		const char *port = url.port;

		/* the default port is not part of the Host header */
		if (port != NULL &&
			((strcmp(url.scheme, "https") == 0 && strcmp(port, "443") == 0) ||
			 (strcmp(url.scheme, "http") == 0 && strcmp(port, "80") == 0)))
			port = NULL;
		*origin = psprintf("%s://%s%s%s", url.scheme, url.host,
						   port ? ":" : "", port ? port : "");
		for (char *c = *origin; *c; c++)
			*c = pg_ascii_tolower((unsigned char) *c);
	}
	free_url_parts(&url);
	return problem;
}

/*
 * Keep the endpoint, parsed by iai_check_base_url, as the GUC's "extra":
 * the normalised URL and the Host header.
 */
static bool
check_endpoint(char **newval, void **extra, GucSource source)
{
	const char *problem;
	char	   *origin;
	bool		user_info;
	IaiEndpoint *ep;
	const char *authority;
	size_t		urllen;
	size_t		hostlen;

	if (*newval == NULL || (*newval)[0] == '\0')
		return invalid_value("iai.endpoint",
							 "\"iai.endpoint\" must be an http or https URL, such as \"" IAI_DEFAULT_ENDPOINT "\".",
							 "", sizeof(IaiEndpoint), extra, source);
	/* never shown; kept masked should it hold user information */
	if (iai_has_control_chars(*newval))
		return invalid_url("iai.endpoint", "The URL contains control characters.",
						   true, newval, sizeof(IaiEndpoint), extra, source);

	problem = iai_check_base_url(*newval,
								 "The URL must not have a path; requests always go to \"/\".",
								 &origin, &user_info);
	if (problem != NULL)
		return invalid_url("iai.endpoint", problem, user_info, newval,
						   sizeof(IaiEndpoint), extra, source);
	if (origin == NULL)
		return false;

	/* one chunk, as GUC frees an extra as a whole */
	urllen = strlen(origin) + 1;
	authority = strstr(origin, "://") + 3;
	hostlen = strlen(authority);
	ep = iai_guc_malloc(sizeof(IaiEndpoint) + urllen + 1 + hostlen + 1);
	if (ep != NULL)
	{
		memset(ep, 0, sizeof(IaiEndpoint));
		ep->url = (char *) (ep + 1);
		snprintf(ep->url, urllen + 1, "%s/", origin);
		ep->host_header = ep->url + urllen + 1;
		memcpy(ep->host_header, authority, hostlen + 1);
	}
	pfree(origin);
	if (ep == NULL)
		return false;
	*extra = ep;
	return true;
}

static void
assign_endpoint(const char *newval, void *extra)
{
	endpoint_parsed = (IaiEndpoint *) extra;
}

/*
 * iai.proxy: "" for a direct connection whatever the environment says,
 * "environment" for libcurl's reading of http_proxy, https_proxy, all_proxy
 * and no_proxy, or an http:// or socks5h:// URL with a host and a port.
 */
static bool
check_proxy(char **newval, void **extra, GucSource source)
{
	const char *v = *newval ? *newval : "";
	UrlParts	url;
	int			parsed;
	const char *problem = NULL;
	bool		user_info = false;
	IaiProxy   *px;
	size_t		len;

	/* never shown; kept masked should it hold user information */
	if (iai_has_control_chars(v))
		return invalid_url("iai.proxy", "The value contains control characters.",
						   true, newval, sizeof(IaiProxy), extra, source);
	if (v[0] != '\0' && strcmp(v, "environment") != 0)
	{
		parsed = get_url_parts(v, CURLU_NON_SUPPORT_SCHEME, &url);
		if (parsed < 0)
			return false;
		if (parsed == 0)
			problem = "It is neither \"\", \"environment\" nor a URL such as \"http://proxy.example.com:3128\".";
		else if (strcmp(url.scheme, "http") != 0 && strcmp(url.scheme, "socks5h") != 0)
			problem = "Only http:// and socks5h:// proxies are supported.";
		else if (url.user)
		{
			user_info = true;
			problem = "The URL must not contain user information.";
		}
		else if (url.host == NULL || url.host[0] == '\0')
			problem = "The URL has no host name.";
		else if (url.port == NULL)
			problem = "The URL must name the proxy's port.";
		else if (url.query_or_fragment || url_has_path(&url))
			problem = "The URL must have nothing after the host and port.";
		free_url_parts(&url);
		/* whatever is refused first, a value with an "@" is not repeated */
		if (problem != NULL && strchr(v, '@') != NULL)
			user_info = true;
		if (problem != NULL)
			return invalid_url("iai.proxy", problem, user_info, newval,
							   sizeof(IaiProxy), extra, source);
	}

	len = strlen(v) + 1;
	px = iai_guc_malloc(sizeof(IaiProxy) + len);
	if (px == NULL)
		return false;
	memset(px, 0, sizeof(IaiProxy));
	px->environment = strcmp(v, "environment") == 0;
	px->url = memcpy((char *) (px + 1), v, len);
	*extra = px;
	return true;
}

static void
assign_proxy(const char *newval, void *extra)
{
	proxy_parsed = (IaiProxy *) extra;
}

const IaiEndpoint *
iai_endpoint(void)
{
	Assert(endpoint_parsed != NULL);
	if (endpoint_parsed->refused.problem != NULL)
		raise_refused("iai.endpoint", &endpoint_parsed->refused);
	if (ca_file_refused != NULL && ca_file_refused->problem != NULL)
		raise_refused("iai.ca_file", ca_file_refused);
	if (proxy_parsed != NULL && proxy_parsed->refused.problem != NULL)
		raise_refused("iai.proxy", &proxy_parsed->refused);
	return endpoint_parsed;
}

const IaiProxy *
iai_proxy_setting(void)
{
	static const IaiProxy direct = {{NULL, NULL}, "", false};

	return proxy_parsed ? proxy_parsed : &direct;
}

void
iai_define_settings(void)
{
	defining_settings = true;
	DefineCustomStringVariable("iai.endpoint",
							   "Base URL of the Face Recognition API.",
							   "Any http or https URL without a path; the default is the nearest region.",
							   &endpoint_string,
							   IAI_DEFAULT_ENDPOINT,
							   PGC_SUSET,
							   0,
							   check_endpoint, assign_endpoint, NULL);

	DefineCustomStringVariable("iai.secret_id",
							   "Tencent Cloud SecretId used to sign requests.",
							   "Empty means: take it from the environment or the credentials file.",
							   &iai_secret_id,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY,
							   check_secret_id, assign_secret_id, NULL);

	DefineCustomStringVariable("iai.secret_key",
							   "Tencent Cloud SecretKey used to sign requests.",
							   "Empty means: take it from the environment or the credentials file.",
							   &iai_secret_key,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY,
							   check_secret_key, assign_secret_key, NULL);

	DefineCustomStringVariable("iai.session_token",
							   "Token of temporary (STS) credentials, sent as X-TC-Token.",
							   NULL,
							   &iai_session_token,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY,
							   check_session_token, assign_session_token, NULL);

	DefineCustomStringVariable("iai.region",
							   "Region sent as X-TC-Region; empty sends none.",
							   NULL,
							   &iai_region,
							   "",
							   PGC_USERSET,
							   0,
							   check_region, NULL, NULL);

	DefineCustomStringVariable("iai.language",
							   "Language of API error messages (zh-CN or en-US); empty sends none.",
							   NULL,
							   &iai_language,
							   "",
							   PGC_USERSET,
							   0,
							   check_language, NULL, NULL);

	DefineCustomIntVariable("iai.timeout_ms",
							"Time limit for one HTTP request.",
							NULL,
							&iai_timeout_ms,
							10000, 1, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("iai.connect_timeout_ms",
							"Time limit for establishing a connection (TCP and TLS).",
							NULL,
							&iai_connect_timeout_ms,
							5000, 1, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("iai.total_timeout_ms",
							"Time limit for a whole call: every attempt, retry wait and rate-limit wait.",
							NULL,
							&iai_total_timeout_ms,
							30000, 1, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("iai.max_retries",
							"Retries of a call after a transient failure.",
							"Network failures, non-200 answers, throttling and server-side errors are retried with exponential backoff.",
							&iai_max_retries,
							2, 0, 10,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("iai.rate_limit",
							"Requests per second this server sends at most; 0 disables the limit.",
							"Shared by all backends when iai is in shared_preload_libraries, per backend otherwise.",
							&iai_rate_limit,
							50, 0, 100000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	/*
	 * Not PGC_POSTMASTER: a library loaded after startup may not define such
	 * a setting.  The worker follows a change at reload.
	 */
	DefineCustomStringVariable("iai.database_name",
							   "Databases whose iai_queue a background worker delivers, separated by commas.",
							   "Used only when iai is in shared_preload_libraries; one worker per database, sharing one rate limit.",
							   &iai_database_name,
							   "postgres",
							   PGC_SIGHUP,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("iai.queue_max_attempts",
							"Attempts at a queued call before it is dead-lettered.",
							NULL,
							&iai_queue_max_attempts,
							10, 1, 1000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("iai.queue_retry_interval",
							"Wait before the first retry of a queued call; it doubles with each attempt, up to 10 minutes.",
							NULL,
							&iai_queue_retry_interval_ms,
							5000, 1, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("iai.queue_max_in_flight",
							"Most queued calls the worker has in flight at once.",
							"Each is a request on a keep-alive connection of its own.  To reach iai.rate_limit, it must be at least the rate times the round trip to the service: 32 keeps 50 calls/s over 600 ms.  Calls for the same PersonId are never in flight together.",
							&iai_queue_max_in_flight,
							32, 1, IAI_MAX_IN_FLIGHT,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("iai.queue_retention",
							"How long delivered rows stay in iai_queue.",
							NULL,
							&iai_queue_retention_s,
							86400, 0, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("iai.queue_pause_warning",
							"How often a WARNING repeats while queue delivery is paused by an outage; 0 for never.",
							"The pause and the resumption are always logged once.",
							&iai_queue_pause_warning_s,
							300, 0, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("iai.log_requests",
							 "Log a line per call: off, errors (failed calls) or all.",
							 "The line holds action, ids, outcome, RequestId, attempts and time; never a credential, token or signature.",
							 &iai_log_requests,
							 IAI_LOG_OFF,
							 log_requests_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("iai.ca_file",
							   "File of CA certificates to verify the endpoint with instead of the system's.",
							   "Empty uses the system's trusted certificates.",
							   &iai_ca_file,
							   "",
							   PGC_SUSET,
							   0,
							   check_ca_file, assign_ca_file, NULL);

	DefineCustomStringVariable("iai.proxy",
							   "Proxy for calls: empty for a direct connection, \"environment\", or an http:// or socks5h:// URL.",
							   "Empty ignores the proxy environment variables; \"environment\" follows http_proxy, https_proxy, all_proxy and no_proxy.",
							   &iai_proxy,
							   "",
							   PGC_SUSET,
							   0,
							   check_proxy, assign_proxy, NULL);

	iai_define_credential_settings();

#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("iai");
#else
	EmitWarningsOnPlaceholders("iai");
#endif
	defining_settings = false;
}

/* ---- what credentials.c needs to know of the secrets ---- */

/* The name of the first credential setting that is set and came from origin. */
static const char *
secret_from(SecretOrigin origin)
{
	const char *values[NUM_SECRETS] = {iai_secret_id, iai_secret_key, iai_session_token};

	for (int i = 0; i < NUM_SECRETS; i++)
		if (iai_nonempty(values[i]) && secret_origin[i] == origin)
			return secret_names[i];
	return NULL;
}

const char *
iai_secret_set_in_config_files(void)
{
	return secret_from(FROM_SERVER_CONFIG);
}

const char *
iai_secret_set_in_catalog(void)
{
	return secret_from(FROM_CATALOG);
}
