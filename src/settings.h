/*-------------------------------------------------------------------------
 *
 * settings.h
 *		The iai.* configuration parameters and credential resolution.
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

/* Credentials for one call, and where they came from. */
typedef struct IaiCredentials
{
	const char *secret_id;
	const char *secret_key;
	const char *token;			/* NULL unless temporary credentials */
	const char *source;			/* for messages: which settings supplied them */
} IaiCredentials;

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
extern int	iai_queue_retention_s;

/*
 * Whether this process loaded the library before running any query
 * (shared_preload_libraries, session_preload_libraries or
 * local_preload_libraries); set by _PG_init.
 */
extern bool iai_loaded_at_start;

extern void iai_define_settings(void);

/*
 * The endpoint to call.  Raises (SQLSTATE F0000) if iai.endpoint,
 * iai.ca_file or iai.proxy holds a value that was kept although invalid, so
 * that no call goes anywhere the administrator did not choose.
 */
extern const IaiEndpoint *iai_endpoint(void);

/* How to reach the endpoint: directly, through the environment's proxy or one. */
extern const IaiProxy *iai_proxy_setting(void);

/* Fill creds from settings, then the environment, then the SDK INI file. */
extern void iai_resolve_credentials(IaiCredentials *creds);

#endif							/* IAI_SETTINGS_H */
