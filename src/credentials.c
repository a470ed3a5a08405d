/*-------------------------------------------------------------------------
 *
 * credentials.c
 *		Which credentials sign a call, and where they come from.
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

#include "storage/fd.h"
#include "utils/memutils.h"

#include "credentials.h"
#include "settings.h"

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
	const char *exposed;

	if (iai_loaded_at_start)
		return;
	exposed = iai_secret_set_in_config_files();
	if (exposed != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("%s is set in the server configuration, but iai is not preloaded",
						exposed),
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
