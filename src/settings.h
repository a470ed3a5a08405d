/*-------------------------------------------------------------------------
 *
 * settings.h
 *		The iai.* configuration parameters.
 *
 *-------------------------------------------------------------------------
 */
#ifndef IAI_SETTINGS_H
#define IAI_SETTINGS_H

#define IAI_DEFAULT_ENDPOINT "https://iai.tencentcloudapi.com"

/*
 * Why a value of a setting that decides where calls go is refused; kept
 * with the value so that calls fail until it is corrected.
 */
typedef struct IaiRefused
{
	char	   *problem;		/* NULL when the value is valid */
	char	   *shown;			/* the value, or NULL if it must not be shown */
} IaiRefused;

/* The endpoint as parsed once, when the setting is assigned. */
typedef struct IaiEndpoint
{
	IaiRefused	refused;		/* first: see refused_extra() */
	char	   *url;			/* normalised, "scheme://host[:port]/" */
	char	   *host_header;	/* Host header value, port only if not default */
} IaiEndpoint;

/* iai.proxy as parsed. */
typedef struct IaiProxy
{
	IaiRefused	refused;
	char	   *url;			/* "" for a direct connection */
	bool		environment;	/* follow the proxy environment variables */
} IaiProxy;

extern char *iai_secret_id;
extern char *iai_secret_key;
extern char *iai_session_token;
extern char *iai_region;
extern char *iai_language;
extern char *iai_ca_file;
extern char *iai_proxy;
extern int	iai_timeout_ms;
extern int	iai_connect_timeout_ms;
extern int	iai_total_timeout_ms;
extern int	iai_max_retries;
extern int	iai_rate_limit;
extern char *iai_database_name;
extern int	iai_queue_max_attempts;
extern int	iai_queue_retry_interval_ms;
extern int	iai_queue_max_in_flight;
extern int	iai_queue_retention_s;
extern int	iai_queue_pause_warning_s;

/*
 * Whether this process loaded the library before running any query
 * (shared_preload_libraries, session_preload_libraries or
 * local_preload_libraries); set by _PG_init.
 */
extern bool iai_loaded_at_start;

extern void iai_define_settings(void);

/* Text checks shared by the settings and the credential sources. */
extern bool iai_has_control_chars(const char *s);
extern bool iai_has_surrounding_space(const char *s);

static inline bool
iai_nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/*
 * Check value, non-NULL, as a base URL for the settings that say where
 * calls go (iai.endpoint, iai.metadata_url, iai.sts_endpoint): http or
 * https, a host name, maybe a port, and nothing else.  It is parsed with
 * libcurl's own URL parser, so that what is checked is what libcurl will
 * connect to.  An empty value and control characters are the caller's to
 * refuse first, in words of its own.
 *
 * Returns NULL if the value is valid, with *origin set to the palloc'd,
 * lowercase "scheme://host[:port]", the port left out if it is the
 * scheme's default.  Otherwise returns why the value is refused, a sentence
 * for a message's detail, and sets *origin to NULL: it is not a URL with a
 * scheme and a host name, or its scheme is neither http nor https, or it
 * has no host name, user information (then *user_info is set: the value
 * may hold a password and must not be repeated), a query, a fragment, or a
 * path other than "/" (for which path_problem is returned).  If libcurl
 * runs out of memory, returns NULL with *origin NULL.
 */
extern const char *iai_check_base_url(const char *value, const char *path_problem,
									  char **origin, bool *user_info);

/*
 * The endpoint to call.  Raises (SQLSTATE F0000) if iai.endpoint,
 * iai.ca_file or iai.proxy holds a value that was kept although invalid, so
 * that no call goes anywhere the administrator did not choose.
 */
extern const IaiEndpoint *iai_endpoint(void);

/*
 * The name of a credential setting (iai.secret_id, iai.secret_key,
 * iai.session_token) that is set from the configuration files or the
 * server's command line, or NULL if none is.  Until a session loads the
 * library such a value is readable by every role.
 */
extern const char *iai_secret_set_in_config_files(void);

/*
 * The name of a credential setting stored with ALTER ROLE/DATABASE SET
 * while the library was not loaded (so not refused then), or NULL.
 */
extern const char *iai_secret_set_in_catalog(void);

/* Where credential settings belong, for hints. */
#define IAI_SECRETS_BELONG_HINT \
	"Put it in postgresql.conf with iai in \"shared_preload_libraries\", or supply the credentials through the server's environment (TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY, TENCENTCLOUD_SESSION_TOKEN) or the credentials file ~/.tencentcloud/credentials of the server's OS user."

/* How to reach the endpoint: directly, through the environment's proxy or one. */
extern const IaiProxy *iai_proxy_setting(void);

#endif							/* IAI_SETTINGS_H */
