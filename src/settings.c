/*-------------------------------------------------------------------------
 *
 * settings.c
 *		The iai.* configuration parameters and credential resolution.
 *
 * Whatever decides where a signed request goes (endpoint), which file the
 * server reads (CA file) or which credentials sign it is PGC_SUSET.  Secrets
 * are GUC_SUPERUSER_ONLY, and every check hook on them sets its own message
 * so that PostgreSQL's default "invalid value ... : <value>" never echoes a
 * secret.  Values that become HTTP header text are refused if they contain
 * control characters, so no setting can inject a header.
 *
 * Credentials come from the settings, else from the server's environment
 * (TENCENTCLOUD_SECRET_ID/_KEY/_SESSION_TOKEN), else from the official SDKs'
 * INI file ~/.tencentcloud/credentials of the server's OS user; a pair is
 * always taken whole from one source.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "storage/fd.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "compat.h"
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

static char *endpoint_string = NULL;
static IaiEndpoint *endpoint_parsed = NULL;

/* Parsed INI file, kept until the file changes. */
static struct
{
	bool		valid;
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec mtime;
	char	   *secret_id;
	char	   *secret_key;
} ini_cache;

static bool
has_control_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x20 || (unsigned char) *s == 0x7f)
			return true;
	return false;
}

static bool
has_surrounding_space(const char *s)
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
	if (has_control_chars(value))
	{
		GUC_check_errmsg("invalid value for parameter \"%s\"", name);
		GUC_check_errdetail("The value contains control characters.");
		return false;
	}
	if (secret && has_surrounding_space(value))
	{
		GUC_check_errmsg("invalid value for parameter \"%s\"", name);
		GUC_check_errdetail("The value has leading or trailing whitespace.");
		GUC_check_errhint("Copy the credential again without surrounding spaces.");
		return false;
	}
	return true;
}

/*
 * Whether each credential setting's value came from the configuration
 * files or the server's command line.  Until the library is loaded, such a
 * value is an ordinary placeholder that every role can read, so it is used
 * only when the library is loaded before any query runs (see
 * iai_resolve_credentials).  The source travels as the value's "extra", so
 * SET, RESET and transaction rollback keep it right.
 */
typedef enum
{
	SECRET_ID,
	SECRET_KEY,
	SESSION_TOKEN,
	NUM_SECRETS
} SecretSetting;

static const char *const secret_names[NUM_SECRETS] = {
	"iai.secret_id", "iai.secret_key", "iai.session_token"
};
static bool secret_server_wide[NUM_SECRETS];

bool		iai_loaded_at_start = false;

static bool
check_secret(SecretSetting which, char **newval, void **extra, GucSource source)
{
	bool	   *server_wide;

	if (!check_header_text(secret_names[which], *newval, true))
		return false;
	server_wide = iai_guc_malloc(sizeof(bool));
	if (server_wide == NULL)
		return false;
	*server_wide = (source == PGC_S_FILE || source == PGC_S_ARGV);
	*extra = server_wide;
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
	secret_server_wide[SECRET_ID] = extra && *(bool *) extra;
}

static void
assign_secret_key(const char *newval, void *extra)
{
	secret_server_wide[SECRET_KEY] = extra && *(bool *) extra;
}

static void
assign_session_token(const char *newval, void *extra)
{
	secret_server_wide[SESSION_TOKEN] = extra && *(bool *) extra;
}

static bool
check_ca_file(char **newval, void **extra, GucSource source)
{
	return check_header_text("iai.ca_file", *newval, false);
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
 * Parse the endpoint with libcurl's own URL parser (so what is validated is
 * what libcurl will connect to) and keep the normalised URL and the Host
 * header as the GUC's "extra".
 */
static bool
check_endpoint(char **newval, void **extra, GucSource source)
{
	CURLU	   *u;
	char	   *scheme = NULL,
			   *host = NULL,
			   *port = NULL,
			   *path = NULL,
			   *part = NULL;
	const char *problem = NULL;
	IaiEndpoint *ep;
	char	   *buf;
	size_t		hostlen;
	size_t		portlen;
	size_t		urllen;

	if (*newval == NULL || (*newval)[0] == '\0')
	{
		GUC_check_errdetail("iai.endpoint must be an http or https URL, such as \"%s\".",
							IAI_DEFAULT_ENDPOINT);
		return false;
	}
	if (has_control_chars(*newval))
	{
		GUC_check_errdetail("The URL contains control characters.");
		return false;
	}

	u = curl_url();
	if (u == NULL)
		return false;
	if (curl_url_set(u, CURLUPART_URL, *newval, 0) != CURLUE_OK)
		problem = "It is not a URL with a scheme and a host name.";
	else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
			 (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		problem = "Only the http and https schemes are supported.";
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0')
		problem = "The URL has no host name.";
	else if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK)
	{
		/* it may hold a password: do not repeat the value */
		GUC_check_errmsg("invalid value for parameter \"iai.endpoint\"");
		problem = "The URL must not contain user information.";
	}
	else if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
			 curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK)
		problem = "The URL must not have a query or a fragment.";
	else if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
			 strcmp(path, "/") != 0 && path[0] != '\0')
		problem = "The URL must not have a path; requests always go to \"/\".";

	if (problem == NULL &&
		curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK &&
		((strcmp(scheme, "https") == 0 && strcmp(port, "443") == 0) ||
		 (strcmp(scheme, "http") == 0 && strcmp(port, "80") == 0)))
	{
		/* the default port is not part of the Host header */
		curl_free(port);
		port = NULL;
	}

	ep = NULL;
	if (problem == NULL)
	{
		hostlen = strlen(host);
		portlen = port ? strlen(port) + 1 : 0;
		urllen = strlen(scheme) + 3 + hostlen + portlen + 1;
		/* one chunk: GUC frees an extra as a whole */
		ep = iai_guc_malloc(sizeof(IaiEndpoint) + urllen + 1 + hostlen + portlen + 1);
		if (ep != NULL)
		{
			buf = (char *) (ep + 1);
			ep->url = buf;
			snprintf(buf, urllen + 1, "%s://%s%s%s/", scheme, host,
					 port ? ":" : "", port ? port : "");
			for (char *c = buf; *c; c++)
				*c = pg_ascii_tolower((unsigned char) *c);
			ep->host_header = buf + urllen + 1;
			snprintf(ep->host_header, hostlen + portlen + 1, "%s%s%s", host,
					 port ? ":" : "", port ? port : "");
			for (char *c = ep->host_header; *c; c++)
				*c = pg_ascii_tolower((unsigned char) *c);
		}
	}

	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(part);
	curl_url_cleanup(u);

	if (problem != NULL)
	{
		GUC_check_errdetail("%s", problem);
		return false;
	}
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

const IaiEndpoint *
iai_endpoint(void)
{
	Assert(endpoint_parsed != NULL);
	return endpoint_parsed;
}

void
iai_define_settings(void)
{
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
							   check_ca_file, NULL, NULL);

#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("iai");
#else
	EmitWarningsOnPlaceholders("iai");
#endif
}

/* ---- credentials ---- */

static bool
nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* A credential from outside the settings must be usable as header text. */
static void
check_external_credential(const char *name, const char *value)
{
	if (has_control_chars(value) || has_surrounding_space(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("%s has leading or trailing whitespace or control characters", name),
				 errhint("Fix the value where the server reads it; the value itself is not shown.")));
}

static char *
trim_in_place(char *s)
{
	char	   *end;

	while (isspace((unsigned char) *s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char) end[-1]))
		*--end = '\0';
	return s;
}

static char *
ini_path(void)
{
	const char *home = getenv("HOME");

	if (!nonempty(home))
	{
		struct passwd *pw = getpwuid(geteuid());

		home = pw ? pw->pw_dir : NULL;
	}
	if (!nonempty(home))
		return NULL;
	return psprintf("%s/.tencentcloud/credentials", home);
}

/*
 * Read the [default] section of the SDK credentials file into ini_cache,
 * unless the file is unchanged since the last read.
 */
static void
load_ini(const char *path)
{
	struct stat st;
	FILE	   *f;
	char		line[1024];
	bool		in_default = false;
	char	   *id = NULL;
	char	   *key = NULL;

	if (stat(path, &st) != 0)
	{
		ini_cache.valid = false;
		return;
	}
	if (ini_cache.valid && ini_cache.dev == st.st_dev && ini_cache.ino == st.st_ino &&
		ini_cache.size == st.st_size &&
		ini_cache.mtime.tv_sec == st.st_mtim.tv_sec &&
		ini_cache.mtime.tv_nsec == st.st_mtim.tv_nsec)
		return;

	f = AllocateFile(path, "r");
	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read credentials file \"%s\": %m", path)));
	while (fgets(line, sizeof(line), f) != NULL)
	{
		char	   *s;
		char	   *eq;
		int			c;

		/* a line too long for the buffer is no credential: skip all of it */
		if (strchr(line, '\n') == NULL && !feof(f))
		{
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		s = trim_in_place(line);

		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[')
		{
			in_default = strcmp(s, "[default]") == 0;
			continue;
		}
		if (!in_default || (eq = strpbrk(s, "=:")) == NULL)
			continue;
		*eq = '\0';
		s = trim_in_place(s);
		if (pg_strcasecmp(s, "secret_id") == 0)
		{
			if (id)
				pfree(id);
			id = MemoryContextStrdup(TopMemoryContext, trim_in_place(eq + 1));
		}
		else if (pg_strcasecmp(s, "secret_key") == 0)
		{
			if (key)
			{
				explicit_bzero(key, strlen(key));
				pfree(key);
			}
			key = MemoryContextStrdup(TopMemoryContext, trim_in_place(eq + 1));
		}
	}
	FreeFile(f);
	explicit_bzero(line, sizeof(line));

	if (ini_cache.secret_key)
	{
		explicit_bzero(ini_cache.secret_key, strlen(ini_cache.secret_key));
		pfree(ini_cache.secret_key);
	}
	if (ini_cache.secret_id)
		pfree(ini_cache.secret_id);
	ini_cache.secret_id = id;
	ini_cache.secret_key = key;
	ini_cache.dev = st.st_dev;
	ini_cache.ino = st.st_ino;
	ini_cache.size = st.st_size;
	ini_cache.mtime = st.st_mtim;
	ini_cache.valid = true;
}

/*
 * Credentials in postgresql.conf are placeholders, readable by every role,
 * in any session that has not loaded the library.  Use them only if the
 * library is loaded before any query can run.
 */
static void
refuse_exposed_secrets(void)
{
	const char *values[NUM_SECRETS] = {iai_secret_id, iai_secret_key, iai_session_token};

	if (iai_loaded_at_start)
		return;
	for (int i = 0; i < NUM_SECRETS; i++)
		if (nonempty(values[i]) && secret_server_wide[i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("%s is set in the server configuration, but iai is not preloaded",
							secret_names[i]),
					 errdetail("Until a session loads iai, every role can read the value of a setting from the configuration files."),
					 errhint("Add iai to shared_preload_libraries or session_preload_libraries, or supply the credentials through the server's environment or credentials file.")));
}

void
iai_resolve_credentials(IaiCredentials *creds)
{
	const char *env_id;
	const char *env_key;
	const char *env_token;
	char	   *path;

	memset(creds, 0, sizeof(*creds));

	if (nonempty(iai_secret_id) || nonempty(iai_secret_key))
	{
		if (!nonempty(iai_secret_id) || !nonempty(iai_secret_key))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("%s is set but %s is not",
							nonempty(iai_secret_id) ? "iai.secret_id" : "iai.secret_key",
							nonempty(iai_secret_id) ? "iai.secret_key" : "iai.secret_id"),
					 errhint("Set both, or neither to use the server's environment or credentials file.")));
		refuse_exposed_secrets();
		creds->secret_id = iai_secret_id;
		creds->secret_key = iai_secret_key;
		creds->token = nonempty(iai_session_token) ? iai_session_token : NULL;
		creds->source = "iai.secret_id and iai.secret_key";
		return;
	}

	env_id = getenv("TENCENTCLOUD_SECRET_ID");
	env_key = getenv("TENCENTCLOUD_SECRET_KEY");
	if (nonempty(env_id) || nonempty(env_key))
	{
		if (!nonempty(env_id) || !nonempty(env_key))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("the server's environment sets only one of TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY")));
		check_external_credential("TENCENTCLOUD_SECRET_ID", env_id);
		check_external_credential("TENCENTCLOUD_SECRET_KEY", env_key);
		env_token = getenv("TENCENTCLOUD_SESSION_TOKEN");
		if (nonempty(env_token))
			check_external_credential("TENCENTCLOUD_SESSION_TOKEN", env_token);
		creds->secret_id = env_id;
		creds->secret_key = env_key;
		creds->token = nonempty(env_token) ? env_token : NULL;
		creds->source = "the environment variables TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY";
		return;
	}

	path = ini_path();
	if (path != NULL)
	{
		load_ini(path);
		if (ini_cache.valid && nonempty(ini_cache.secret_id) &&
			nonempty(ini_cache.secret_key))
		{
			check_external_credential("secret_id in the credentials file", ini_cache.secret_id);
			check_external_credential("secret_key in the credentials file", ini_cache.secret_key);
			creds->secret_id = ini_cache.secret_id;
			creds->secret_key = ini_cache.secret_key;
			creds->source = "the credentials file of the server's OS user";
			return;
		}
	}

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("no Tencent Cloud credentials are configured for iai"),
			 errhint("Set iai.secret_id and iai.secret_key (superuser), or TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY in the server's environment, or secret_id and secret_key in the [default] section of %s.",
					 path ? path : "~/.tencentcloud/credentials")));
}
