/*-------------------------------------------------------------------------
 *
 * credfetch.h
 *		Temporary credentials from the CVM instance metadata service and
 *		from STS AssumeRoleWithWebIdentity (TKE workload identity).
 *
 *-------------------------------------------------------------------------
 */
#ifndef IAI_CREDFETCH_H
#define IAI_CREDFETCH_H

/*
 * Longest values kept (bytes, without the terminator).  STS documents
 * TmpSecretId and TmpSecretKey of at most 1,024 bytes and a Token of at most
 * 4,096 bytes "depending on the associated policies"; the token gets room
 * to spare, since that limit has grown before.
 */
#define IAI_TMP_ID_MAX 1024
#define IAI_TMP_KEY_MAX 1024
#define IAI_TMP_TOKEN_MAX 8192
#define IAI_ROLE_NAME_MAX 128	/* a CAM role name */

/* TKE workload identity, from the server's environment. */
typedef struct IaiOidcConfig
{
	const char *region;			/* TKE_REGION */
	const char *provider_id;	/* TKE_PROVIDER_ID */
	const char *token_file;		/* TKE_WEB_IDENTITY_TOKEN_FILE */
	const char *role_arn;		/* TKE_ROLE_ARN */
} IaiOidcConfig;

/*
 * What one fetch came to.  Source failures are reported here, never
 * raised, so that the caller can remember them; only interrupts and lack
 * of memory raise.  Strings are palloc'd in the caller's context.
 */
typedef struct IaiTempFetch
{
	bool		ok;
	/* success */
	char	   *secret_id;
	char	   *secret_key;
	char	   *token;
	int64		expires_at;		/* ExpiredTime: Unix seconds */
	char	   *role;			/* the CAM role used (CVM), or NULL */
	/* failure, as an ERROR would carry it; never a credential */
	bool		absent;			/* no such source here: the metadata service
								 * unreachable, or no role bound to the
								 * instance */
	int			sqlstate;
	char	   *message;
	char	   *detail;
	char	   *hint;
} IaiTempFetch;

/*
 * The CVM role's credentials: GET {metadata_url}/latest/meta-data/cam/
 * security-credentials/ names the role bound to the instance (unless role
 * is given), GET .../security-credentials/<role> answers {"TmpSecretId",
 * "TmpSecretKey", "Token", "ExpiredTime", "Code": "Success"} (the SDKs'
 * CvmRoleProvider).  metadata_url is "scheme://host[:port]".  Connecting is
 * limited to 1 s and the whole of each request to 3 s: off a CVM, the
 * metadata service's name does not resolve or nothing answers.  Returns
 * out->ok.
 */
extern bool iai_fetch_cvm_role(const char *metadata_url, const char *role,
							   IaiTempFetch *out);

/*
 * TKE workload identity: POST an unsigned ("Authorization: SKIP") STS
 * AssumeRoleWithWebIdentity (service sts, version 2018-08-13, region
 * TKE_REGION) to sts_url with the web identity token read from its file,
 * asking for DurationSeconds 7200, as the SDKs' OIDCRoleArnProvider does.
 * The answer's Response.Credentials {TmpSecretId, TmpSecretKey, Token} and
 * Response.ExpiredTime are taken.  sts_url is "scheme://host[:port]".
 * Returns out->ok.
 */
extern bool iai_fetch_oidc(const char *sts_url, const IaiOidcConfig *config,
						   IaiTempFetch *out);

#endif							/* IAI_CREDFETCH_H */
