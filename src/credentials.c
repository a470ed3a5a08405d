/*-------------------------------------------------------------------------
 *
 * credentials.c
 *		Which credentials sign a call, and where they come from.
 *
 * With iai.credentials = auto, the official SDKs' chain: the settings, else
 * the server's environment (TENCENTCLOUD_SECRET_ID/_KEY/_SESSION_TOKEN),
 * else the SDKs' INI file ~/.tencentcloud/credentials of the server's OS
 * user, else the CAM role of the CVM instance (from its metadata service),
 * else TKE workload identity (TKE_* in the environment, exchanged at STS).
 * A pair is always taken whole from one source.  Any one source can be
 * named instead, and then nothing else is consulted.
 *
 * The long-term sources are read on every call (the file only when it
 * changed).  The temporary ones are fetched, shared and refreshed by
 * credcache.c; a call refused with AuthFailure.TokenFailure or
 * AuthFailure.SecretIdNotFound may renew them once (api.c).  An absent CVM
 * role (no metadata service within 1 s, or no role bound) is remembered for
 * a minute, so the chain does not ask on every call.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "storage/fd.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "credcache.h"
#include "credentials.h"
#include "settings.h"

#define IAI_DEFAULT_METADATA_URL "http://metadata.tencentyun.com"
#define IAI_DEFAULT_STS_ENDPOINT "https://sts.tencentcloudapi.com"

typedef enum CredentialSource
{
	CRED_AUTO,
	CRED_SETTINGS,
	CRED_ENVIRONMENT,
	CRED_FILE,
	CRED_CVM_ROLE,
	CRED_OIDC
} CredentialSource;

/* indexed by CredentialSource */
static const struct config_enum_entry credential_source_names[] = {
	{"auto", CRED_AUTO, false},
	{"settings", CRED_SETTINGS, false},
	{"environment", CRED_ENVIRONMENT, false},
	{"file", CRED_FILE, false},
	{"cvm_role", CRED_CVM_ROLE, false},
	{"oidc", CRED_OIDC, false},
	{NULL, 0, false}
};

static int	credentials_source = CRED_AUTO;
static char *metadata_url_string = NULL;
static char *metadata_url = IAI_DEFAULT_METADATA_URL;	/* normalised */
static char *cvm_role = NULL;
static char *sts_endpoint_string = NULL;
static char *sts_url = IAI_DEFAULT_STS_ENDPOINT;	/* normalised */

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
}			ini_cache;


/* A credential from outside the settings must be usable as header text. */
static void
check_external_credential(const char *name, const char *value)
{
	if (iai_has_control_chars(value) || iai_has_surrounding_space(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("%s has leading or trailing whitespace or control characters", name),
				 errdetail("The value is not shown."),
				 errhint("Fix the value where the server reads it.")));
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

	if (!iai_nonempty(home))
	{
		struct passwd *pw = getpwuid(geteuid());

		home = pw ? pw->pw_dir : NULL;
	}
	if (!iai_nonempty(home))
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
	const char *exposed;

	if (iai_loaded_at_start)
		return;
	exposed = iai_secret_set_in_config_files();
	if (exposed != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("\"%s\" is set in the server configuration, but iai is not preloaded",
						exposed),
				 errdetail("Until a session loads iai, every role can read the value of a setting from the configuration files."),
				 errhint("Add iai to \"shared_preload_libraries\" or \"session_preload_libraries\", or supply the credentials through the server's environment or credentials file.")));
}

/*
 * Credentials stored with ALTER ROLE/DATABASE SET while the library was not
 * loaded to refuse them: never used, whatever else is set.
 */
static void
refuse_catalog_secrets(void)
{
	const char *stored = iai_secret_set_in_catalog();

	if (stored != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("\"%s\" is set with ALTER ROLE or ALTER DATABASE, which iai does not accept",
						stored),
				 errdetail("Every role can read the settings stored there."),
				 errhint("Remove it with ALTER ROLE or ALTER DATABASE ... RESET \"%s\". " IAI_SECRETS_BELONG_HINT,
						 stored)));
}

/* ---- the long-term sources ---- */

static bool
from_settings(IaiCredentials *creds)
{
	if (!iai_nonempty(iai_secret_id) && !iai_nonempty(iai_secret_key))
		return false;
	if (!iai_nonempty(iai_secret_id) || !iai_nonempty(iai_secret_key))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("\"%s\" is set but \"%s\" is not",
						iai_nonempty(iai_secret_id) ? "iai.secret_id" : "iai.secret_key",
						iai_nonempty(iai_secret_id) ? "iai.secret_key" : "iai.secret_id"),
				 errhint("Set both, or neither to use the server's environment or credentials file.")));
	refuse_exposed_secrets();
	creds->secret_id = iai_secret_id;
	creds->secret_key = iai_secret_key;
	creds->token = iai_nonempty(iai_session_token) ? iai_session_token : NULL;
	creds->source = "iai.secret_id and iai.secret_key";
	return true;
}

static bool
from_environment(IaiCredentials *creds)
{
	const char *env_id = getenv("TENCENTCLOUD_SECRET_ID");
	const char *env_key = getenv("TENCENTCLOUD_SECRET_KEY");
	const char *env_token;

	if (!iai_nonempty(env_id) && !iai_nonempty(env_key))
		return false;
	if (!iai_nonempty(env_id) || !iai_nonempty(env_key))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the server's environment sets only one of TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY")));
	check_external_credential("TENCENTCLOUD_SECRET_ID", env_id);
	check_external_credential("TENCENTCLOUD_SECRET_KEY", env_key);
	env_token = getenv("TENCENTCLOUD_SESSION_TOKEN");
	if (iai_nonempty(env_token))
		check_external_credential("TENCENTCLOUD_SESSION_TOKEN", env_token);
	creds->secret_id = env_id;
	creds->secret_key = env_key;
	creds->token = iai_nonempty(env_token) ? env_token : NULL;
	creds->source = "the environment variables TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY";
	return true;
}

/* path: where the file was looked for, or NULL without a home directory. */
static bool
from_file(IaiCredentials *creds, char **path)
{
	*path = ini_path();
	if (*path == NULL)
		return false;
	load_ini(*path);
	if (!ini_cache.valid || !iai_nonempty(ini_cache.secret_id) ||
		!iai_nonempty(ini_cache.secret_key))
		return false;
	check_external_credential("secret_id in the credentials file", ini_cache.secret_id);
	check_external_credential("secret_key in the credentials file", ini_cache.secret_key);
	creds->secret_id = ini_cache.secret_id;
	creds->secret_key = ini_cache.secret_key;
	creds->source = "the credentials file of the server's OS user";
	return true;
}

/* ---- the temporary sources ---- */

typedef struct CvmArg
{
	const char *metadata_url;
	const char *role;			/* iai.cvm_role, or "" to discover it */
} CvmArg;

typedef struct OidcArg
{
	const char *sts_url;
	IaiOidcConfig config;
} OidcArg;

static const char *const tke_names[] = {
	"TKE_REGION", "TKE_PROVIDER_ID", "TKE_WEB_IDENTITY_TOKEN_FILE", "TKE_ROLE_ARN"
};

static bool
fetch_cvm(const void *arg, const char *known_role, IaiTempFetch *out)
{
	const CvmArg *a = arg;

	if (iai_nonempty(a->role))
		return iai_fetch_cvm_role(a->metadata_url, a->role, out);
	/* the role found last time saves a request, unless it is gone */
	if (iai_nonempty(known_role) &&
		(iai_fetch_cvm_role(a->metadata_url, known_role, out) ||
		 out->sqlstate != ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION))
		return out->ok;
	return iai_fetch_cvm_role(a->metadata_url, NULL, out);
}

static bool
fetch_oidc(const void *arg, const char *known_role, IaiTempFetch *out)
{
	const OidcArg *a = arg;

	return iai_fetch_oidc(a->sts_url, &a->config, out);
}

static uint64
config_hash(const char *const *parts, int n)
{
	StringInfoData buf;
	uint64		h;

	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
	{
		appendStringInfoString(&buf, parts[i] ? parts[i] : "");
		appendStringInfoChar(&buf, '\n');
	}
	h = hash_bytes_extended((const unsigned char *) buf.data, buf.len, 0);
	pfree(buf.data);
	return h == 0 ? 1 : h;		/* 0 marks a slot never used */
}

static void
cvm_request(IaiTempRequest *req, CvmArg *arg, bool in_chain)
{
	const char *parts[3];

	arg->metadata_url = metadata_url;
	arg->role = cvm_role;
	parts[0] = "cvm";
	parts[1] = metadata_url;
	parts[2] = cvm_role;
	memset(req, 0, sizeof(*req));
	req->source = IAI_TEMP_CVM_ROLE;
	req->config = config_hash(parts, lengthof(parts));
	req->fetch = fetch_cvm;
	req->arg = arg;
	/* discovery and credentials, each limited to 3 s, with some room */
	req->fetch_budget_s = 10;
	req->in_chain = in_chain;
}

/*
 * TKE workload identity from the server's environment.  Returns false if
 * none of its variables is set; raises if only some are, or the region is
 * not one.
 */
static bool
oidc_request(IaiTempRequest *req, OidcArg *arg, bool in_chain)
{
	const char *values[lengthof(tke_names)];
	const char *parts[lengthof(tke_names) + 2];
	size_t		set = 0;
	StringInfoData missing;

	initStringInfo(&missing);
	for (size_t i = 0; i < lengthof(tke_names); i++)
	{
		values[i] = getenv(tke_names[i]);
		if (iai_nonempty(values[i]))
			set++;
		else
			appendStringInfo(&missing, "%s%s", missing.len ? ", " : "", tke_names[i]);
	}
	if (set == 0)
		return false;
	if (set < lengthof(tke_names))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("TKE workload identity is configured only in part"),
				 errdetail("The server's environment lacks %s.", missing.data),
				 errhint("Run the server in a pod with TKE workload identity, which sets TKE_REGION, TKE_PROVIDER_ID, TKE_WEB_IDENTITY_TOKEN_FILE and TKE_ROLE_ARN, or set \"iai.credentials\" to another source.")));
	if (strlen(values[0]) > 64 ||
		strspn(values[0], "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(values[0]))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("TKE_REGION in the server's environment is not a region"),
				 errdetail("A region is lowercase letters, digits and hyphens, such as \"ap-guangzhou\".")));

	arg->sts_url = sts_url;
	arg->config.region = values[0];
	arg->config.provider_id = values[1];
	arg->config.token_file = values[2];
	arg->config.role_arn = values[3];
	parts[0] = "oidc";
	parts[1] = sts_url;
	for (size_t i = 0; i < lengthof(tke_names); i++)
		parts[i + 2] = values[i];
	memset(req, 0, sizeof(*req));
	req->source = IAI_TEMP_OIDC;
	req->config = config_hash(parts, lengthof(parts));
	req->fetch = fetch_oidc;
	req->arg = arg;
	req->fetch_budget_s = Max(iai_connect_timeout_ms, iai_timeout_ms) / 1000 + 5;
	req->in_chain = in_chain;
	return true;
}

typedef struct WipeOnReset
{
	MemoryContextCallback cb;
	char	   *key;
	char	   *token;
} WipeOnReset;

static void
wipe_copies(void *arg)
{
	WipeOnReset *w = arg;

	explicit_bzero(w->key, strlen(w->key));
	explicit_bzero(w->token, strlen(w->token));
}

static void
use_temp(IaiCredentials *creds, IaiTempSource source, const IaiTempCredentials *t,
		 const OidcArg *oidc)
{
	WipeOnReset *w = palloc(sizeof(WipeOnReset));

	/* the copies go when the caller's memory does; wipe them first */
	w->key = t->secret_key;
	w->token = t->token;
	w->cb.func = wipe_copies;
	w->cb.arg = w;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &w->cb);

	creds->secret_id = t->secret_id;
	creds->secret_key = t->secret_key;
	creds->token = t->token;
	creds->temporary = true;
	creds->temp_source = (int) source;
	creds->expires_at = t->expires_at;
	creds->generation = t->generation;
	if (source == IAI_TEMP_CVM_ROLE)
		creds->source = psprintf("the CAM role \"%s\" of this CVM instance",
								 t->role ? t->role : "?");
	else
		creds->source = psprintf("the role %s, assumed with TKE workload identity",
								 oidc->config.role_arn);
}

/* ---- the chain ---- */

pg_noreturn static void
not_configured(const char *what, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("\"iai.credentials\" is \"%s\", but %s",
					credential_source_names[credentials_source].name, what),
			 errhint("%s", hint)));
	pg_unreachable();
}

void
iai_resolve_credentials(IaiCredentials *creds)
{
	char	   *path = NULL;
	IaiTempRequest req;
	IaiTempCredentials t;
	CvmArg		cvm;
	OidcArg    *oidc = palloc0(sizeof(OidcArg));
	bool		in_chain = (credentials_source == CRED_AUTO);
	const char *cvm_absent = NULL;

	memset(creds, 0, sizeof(*creds));
	refuse_catalog_secrets();
	switch (credentials_source)
	{
		case CRED_SETTINGS:
			if (!from_settings(creds))
				not_configured("\"iai.secret_id\" and \"iai.secret_key\" are not set",
							   "Set them (superuser), or set \"iai.credentials\" to another source.");
			return;
		case CRED_ENVIRONMENT:
			if (!from_environment(creds))
				not_configured("TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY are not set in the server's environment",
							   "Set them where the server is started, or set \"iai.credentials\" to another source.");
			return;
		case CRED_FILE:
			if (!from_file(creds, &path))
				not_configured(psprintf("%s has no secret_id and secret_key in its [default] section",
										path ? path : "~/.tencentcloud/credentials"),
							   "Write them there, readable by the server's OS user, or set \"iai.credentials\" to another source.");
			return;
		case CRED_CVM_ROLE:
			cvm_request(&req, &cvm, false);
			(void) iai_temp_credentials(&req, &t);
			use_temp(creds, IAI_TEMP_CVM_ROLE, &t, NULL);
			return;
		case CRED_OIDC:
			if (!oidc_request(&req, oidc, false))
				not_configured("TKE workload identity is not configured in the server's environment",
							   "TKE sets TKE_REGION, TKE_PROVIDER_ID, TKE_WEB_IDENTITY_TOKEN_FILE and TKE_ROLE_ARN in a pod with workload identity; or set \"iai.credentials\" to another source.");
			(void) iai_temp_credentials(&req, &t);
			use_temp(creds, IAI_TEMP_OIDC, &t, oidc);
			return;
		default:
			break;
	}

	/* auto: the SDKs' order */
	if (from_settings(creds) || from_environment(creds) || from_file(creds, &path))
		return;
	cvm_request(&req, &cvm, in_chain);
	if (iai_temp_credentials(&req, &t))
	{
		use_temp(creds, IAI_TEMP_CVM_ROLE, &t, NULL);
		return;
	}
	cvm_absent = t.absent;
	if (oidc_request(&req, oidc, in_chain))
	{
		(void) iai_temp_credentials(&req, &t);
		use_temp(creds, IAI_TEMP_OIDC, &t, oidc);
		return;
	}

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("no Tencent Cloud credentials are configured for iai"),
			 errdetail("No CVM role: %s (\"iai.metadata_url\" is %s). No TKE workload identity: TKE_ROLE_ARN and the other TKE_* variables are not set in the server's environment.",
					   cvm_absent ? cvm_absent : "none found", metadata_url),
			 errhint("Set \"iai.secret_id\" and \"iai.secret_key\" (superuser), or TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY in the server's environment, or secret_id and secret_key in the [default] section of %s; or bind a CAM role to the CVM instance.",
					 path ? path : "~/.tencentcloud/credentials")));
}

bool
iai_renew_credentials(IaiCredentials *creds, const char *code)
{
	IaiTempRequest req;
	IaiTempCredentials t;
	CvmArg		cvm;
	OidcArg    *oidc = palloc0(sizeof(OidcArg));

	if (!creds->temporary || code == NULL ||
		(strcmp(code, "AuthFailure.TokenFailure") != 0 &&
		 strcmp(code, "AuthFailure.SecretIdNotFound") != 0))
		return false;
	if (creds->temp_source == IAI_TEMP_CVM_ROLE)
		cvm_request(&req, &cvm, false);
	else if (!oidc_request(&req, oidc, false))
		return false;
	if (!iai_temp_renew(&req, creds->generation, &t))
		return false;
	/* the same pair again would be refused again */
	if (strcmp(t.secret_id, creds->secret_id) == 0 && strcmp(t.token, creds->token) == 0)
		return false;
	use_temp(creds, (IaiTempSource) creds->temp_source, &t, oidc);
	return true;
}

char *
iai_describe_credentials(const IaiCredentials *creds)
{
	if (!creds->temporary)
		return psprintf("SecretId %s, from %s", creds->secret_id, creds->source);
	return psprintf("SecretId %s, from %s; temporary, expiring at %s, refreshed %d s before",
					creds->secret_id, creds->source,
					timestamptz_to_str(time_t_to_timestamptz((pg_time_t) creds->expires_at)),
					iai_credentials_refresh_margin_s);
}

/* ---- settings ---- */

/*
 * A base URL: http or https, a host and maybe a port, nothing else (see
 * iai_check_base_url).  The normalised "scheme://host[:port]" goes in
 * *extra.
 */
static bool
check_base_url(const char *name, char **newval, void **extra)
{
	const char *problem;
	char	   *origin;
	bool		user_info;

	if (*newval == NULL || (*newval)[0] == '\0' || iai_has_control_chars(*newval))
	{
		GUC_check_errdetail("\"%s\" must be an http or https URL without a path.", name);
		return false;
	}
	problem = iai_check_base_url(*newval, "The URL must not have a path.",
								 &origin, &user_info);
	if (problem != NULL)
	{
		if (user_info)
			GUC_check_errmsg("invalid value for parameter \"%s\"", name);
		GUC_check_errdetail("%s", problem);
		return false;
	}
	if (origin == NULL)
		return false;
	*extra = iai_guc_strdup(origin);
	pfree(origin);
	return *extra != NULL;
}

static bool
check_metadata_url(char **newval, void **extra, GucSource source)
{
	return check_base_url("iai.metadata_url", newval, extra);
}

static void
assign_metadata_url(const char *newval, void *extra)
{
	metadata_url = extra;
}

static bool
check_sts_endpoint(char **newval, void **extra, GucSource source)
{
	return check_base_url("iai.sts_endpoint", newval, extra);
}

static void
assign_sts_endpoint(const char *newval, void *extra)
{
	sts_url = extra;
}

static bool
check_cvm_role(char **newval, void **extra, GucSource source)
{
	const char *s = *newval;
	size_t		n = s ? strlen(s) : 0;

	if (n == 0)
		return true;
	if (n > IAI_ROLE_NAME_MAX ||
		strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-") != n)
	{
		GUC_check_errdetail("A CAM role name is 1 to %d letters, digits and +=,.@_-; empty uses the role bound to the instance.",
							IAI_ROLE_NAME_MAX);
		return false;
	}
	return true;
}

/*
 * Which source signs is a superuser's choice per session (PGC_SUSET): the
 * shared credentials are kept per source, so sessions may differ.  Where
 * temporary credentials come from (metadata service, role, STS) and when
 * they are refreshed describe the server's machine and are shared by every
 * process, so they are the same for all of them: PGC_SIGHUP.
 */
void
iai_define_credential_settings(void)
{
	DefineCustomEnumVariable("iai.credentials",
							 "Where the credentials that sign requests come from.",
							 "auto: the first of settings, environment, file, cvm_role and oidc that has some, as the SDKs do.",
							 &credentials_source,
							 CRED_AUTO,
							 credential_source_names,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("iai.metadata_url",
							   "Base URL of the CVM instance metadata service, for the instance's CAM role.",
							   NULL,
							   &metadata_url_string,
							   IAI_DEFAULT_METADATA_URL,
							   PGC_SIGHUP,
							   0,
							   check_metadata_url, assign_metadata_url, NULL);

	DefineCustomStringVariable("iai.cvm_role",
							   "CAM role whose credentials the CVM metadata service gives; empty finds the one bound to the instance.",
							   NULL,
							   &cvm_role,
							   "",
							   PGC_SIGHUP,
							   0,
							   check_cvm_role, NULL, NULL);

	DefineCustomStringVariable("iai.sts_endpoint",
							   "Base URL of STS, for TKE workload identity (AssumeRoleWithWebIdentity).",
							   NULL,
							   &sts_endpoint_string,
							   IAI_DEFAULT_STS_ENDPOINT,
							   PGC_SIGHUP,
							   0,
							   check_sts_endpoint, assign_sts_endpoint, NULL);

	DefineCustomIntVariable("iai.credentials_refresh_margin",
							"How long before temporary credentials expire they are refreshed.",
							"The SDKs refresh 5 minutes before ExpiredTime.",
							&iai_credentials_refresh_margin_s,
							300, 0, 43200,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);
}
