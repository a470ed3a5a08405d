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
} IaiCredentials;

/*
 * Fill creds from the settings, then the server's environment, then the
 * SDK INI file.  Raises ERROR (SQLSTATE 28000) when none has a pair, or a
 * source holds only half of one.
 */
extern void iai_resolve_credentials(IaiCredentials *creds);

#endif							/* IAI_CREDENTIALS_H */
