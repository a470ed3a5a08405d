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

/* The endpoint as parsed once, when the setting is assigned. */
typedef struct IaiEndpoint
{
	char	   *url;			/* normalised, "scheme://host[:port]/" */
	char	   *host_header;	/* Host header value, port only if not default */
} IaiEndpoint;

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
extern const IaiEndpoint *iai_endpoint(void);

/* Fill creds from settings, then the environment, then the SDK INI file. */
extern void iai_resolve_credentials(IaiCredentials *creds);

#endif							/* IAI_SETTINGS_H */
