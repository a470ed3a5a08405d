/*-------------------------------------------------------------------------
 *
 * credcache.h
 *		Temporary credentials shared by every process, refreshed before
 *		they expire, one fetch at a time.
 *
 *-------------------------------------------------------------------------
 */
#ifndef IAI_CREDCACHE_H
#define IAI_CREDCACHE_H

#include "credfetch.h"

typedef enum IaiTempSource
{
	IAI_TEMP_CVM_ROLE,
	IAI_TEMP_OIDC,
	IAI_NUM_TEMP_SOURCES
} IaiTempSource;

/*
 * Fetch a source's credentials (see credfetch.h); returns out->ok.
 * known_role: the CVM role the last fetch found, or NULL.
 */
typedef bool (*IaiTempFetcher) (const void *arg, const char *known_role,
								IaiTempFetch *out);

/* How a source is consulted. */
typedef struct IaiTempRequest
{
	IaiTempSource source;
	uint64		config;			/* hash of the settings the source is used
								 * with; credentials of another are not used */
	IaiTempFetcher fetch;
	const void *arg;
	int			fetch_budget_s; /* the longest a fetch may take */
	bool		in_chain;		/* iai.credentials = auto: a source that is
								 * absent here is skipped, not an error */
} IaiTempRequest;

/* Credentials handed to one call (palloc'd in the caller's context). */
typedef struct IaiTempCredentials
{
	char	   *secret_id;
	char	   *secret_key;
	char	   *token;
	char	   *role;			/* the CVM role, or NULL */
	int64		expires_at;		/* Unix seconds */
	uint64		generation;		/* changes whenever they are refreshed */
	const char *absent;			/* when skipped: why, for a message */
} IaiTempCredentials;

/* Seconds before ExpiredTime that a refresh is due (iai.credentials_refresh_margin). */
extern int	iai_credentials_refresh_margin_s;

/*
 * Usable credentials of req's source: the shared ones while they are not
 * due for a refresh, else fetched now by this process, unless another is
 * already at it (then the current ones are used while they last, or this
 * process waits for it).  A fetch that fails while the current ones are
 * still valid is logged and they are used until they expire; a failed fetch
 * is not repeated for 10 s (60 s for an absent source in the chain), its
 * error being raised again meanwhile.  Raises the source's error (SQLSTATE
 * 28000 or class 08), except that in_chain and an absent source return
 * false with out->absent set.
 */
extern bool iai_temp_credentials(const IaiTempRequest *req, IaiTempCredentials *out);

/*
 * The service refused credentials of generation used_generation: take
 * fresher ones if another process already has, else fetch them, unless the
 * current ones are less than 10 s old.  Returns true with out filled if
 * there are credentials other than the refused ones; never raises for the
 * source's failures.
 */
extern bool iai_temp_renew(const IaiTempRequest *req, uint64 used_generation,
						   IaiTempCredentials *out);

/*
 * The temporary secret key and token this process used last (NULL when
 * none), for the log hook to mask.
 */
extern const char *iai_temp_last_key(void);
extern const char *iai_temp_last_token(void);

/* Shared memory, when preloaded (see shmem.c). */
extern Size iai_credcache_shmem_size(void);
extern void iai_credcache_shmem_init(void *area, bool found);
extern void iai_credcache_request_lwlocks(void);

#endif							/* IAI_CREDCACHE_H */
