/*-------------------------------------------------------------------------
 *
 * credentials.h
 *		Which credentials sign a call, and where they come from.
 *
 *-------------------------------------------------------------------------
 */
#ifndef IAI_CREDENTIALS_H
#define IAI_CREDENTIALS_H

/* Credentials for one call, and where they came from. */
typedef struct IaiCredentials
{
	const char *secret_id;
	const char *secret_key;
	const char *token;			/* NULL unless temporary credentials */
	const char *source;			/* for messages: which settings supplied them */
	/* temporary credentials of a role (CVM or TKE workload identity) */
	bool		temporary;
	int			temp_source;	/* IaiTempSource (credcache.h) */
	int64		expires_at;		/* ExpiredTime, Unix seconds */
	uint64		generation;		/* which fetch they came from */
} IaiCredentials;

/*
 * Fill creds as iai.credentials says: by default the first source that has
 * some, in the SDKs' order (settings, environment, SDK file, CVM role, TKE
 * workload identity).  Temporary credentials are copied into the current
 * memory context and wiped when it goes.  Raises ERROR with SQLSTATE 28000
 * when no source has credentials, a source holds only half a pair, or a
 * role's credentials are refused; class 08 when the metadata service or
 * STS cannot be reached or answers what is not credentials.
 */
extern void iai_resolve_credentials(IaiCredentials *creds);

/*
 * The service answered code to a request signed with creds.  If code says
 * the credentials are unknown or their token invalid
 * (AuthFailure.TokenFailure, AuthFailure.SecretIdNotFound) and they are
 * temporary, replace them with fresher ones (another process's refresh, or
 * a fetch now) and return true; false if there are none other.  Never
 * raises for a failure of the source.
 */
extern bool iai_renew_credentials(IaiCredentials *creds, const char *code);

/*
 * "SecretId ..., from <source>", with the expiry of temporary credentials;
 * never a key or token.
 */
extern char *iai_describe_credentials(const IaiCredentials *creds);

/* Define iai.credentials, iai.metadata_url, iai.cvm_role, iai.sts_endpoint, iai.credentials_refresh_margin. */
extern void iai_define_credential_settings(void);

#endif							/* IAI_CREDENTIALS_H */
