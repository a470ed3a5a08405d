/*-------------------------------------------------------------------------
 *
 * credcache.c
 *		Temporary credentials shared by every process, refreshed before
 *		they expire, one fetch at a time.
 *
 * One slot per temporary source (CVM role, TKE workload identity) holds the
 * credentials, their ExpiredTime, and the last failure.  When preloaded the
 * slots live in shared memory under one LWLock, so that the backends and
 * the worker fetch once per refresh between them; otherwise each backend
 * keeps its own.  The lock is held only to copy or store; a fetch runs
 * without it, announced by a claim (pid and a deadline) that makes the
 * others use the current credentials meanwhile, or wait if there are none.
 * A claim whose holder died or overran its deadline is void.
 *
 * A refresh is due iai.credentials_refresh_margin (5 minutes, as in the
 * SDKs) before ExpiredTime.  A failed fetch is remembered, so that an
 * outage costs one attempt per 10 s (60 s for an absent source in the
 * chain) rather than a timeout per call, and valid credentials keep being
 * used until they expire.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>
#include <time.h>

#include "miscadmin.h"
#include "storage/lwlock.h"

#include "compat.h"
#include "credcache.h"
#include "throttle.h"

#define FAILURE_MEMORY_S 10
#define ABSENT_MEMORY_S 60
#define RENEW_MIN_AGE_S 10
#define WAIT_SLICE_NS (10 * INT64CONST(1000000))

typedef struct Slot
{
	uint64		config;			/* settings it belongs to; 0: never used */
	uint64		generation;		/* bumped at each store of credentials */
	int64		fetched_at;		/* Unix seconds */
	int64		expires_at;		/* ExpiredTime, Unix seconds */
	int			refresher;		/* pid of the process fetching, or 0 */
	int64		refresh_until;	/* its claim is void after this */
	int64		failed_at;		/* the last fetch failed then, or 0 */
	bool		absent;			/* ... because the source is not here */
	int			fail_sqlstate;
	char		fail_message[256];
	char		fail_detail[512];
	char		fail_hint[256];
	char		role[IAI_ROLE_NAME_MAX + 1];
	char		secret_id[IAI_TMP_ID_MAX + 1];
	char		secret_key[IAI_TMP_KEY_MAX + 1];
	char		token[IAI_TMP_TOKEN_MAX + 1];
} Slot;

typedef struct CacheArea
{
	LWLock	   *lock;
	Slot		slots[IAI_NUM_TEMP_SOURCES];
} CacheArea;

int			iai_credentials_refresh_margin_s = 300;

static CacheArea *shared_area = NULL;
static CacheArea local_area;	/* when not preloaded */

/* What this process used last, for the log hook (malloc'd). */
static char *last_key = NULL;
static char *last_token = NULL;

/* ---- shared memory ---- */

Size
iai_credcache_shmem_size(void)
{
	return MAXALIGN(sizeof(CacheArea));
}

void
iai_credcache_request_lwlocks(void)
{
	RequestNamedLWLockTranche("iai_credentials", 1);
}

void
iai_credcache_shmem_init(void *area, bool found)
{
	shared_area = (CacheArea *) area;
	if (!found)
	{
		memset(shared_area, 0, sizeof(CacheArea));
		shared_area->lock = &(GetNamedLWLockTranche("iai_credentials"))->lock;
	}
}

static void
lock_area(LWLockMode mode)
{
	if (shared_area)
		LWLockAcquire(shared_area->lock, mode);
}

static void
unlock_area(void)
{
	if (shared_area)
		LWLockRelease(shared_area->lock);
}

static Slot *
slot_for(IaiTempSource source)
{
	return &(shared_area ? shared_area : &local_area)->slots[source];
}

/* ---- the masking hook's copies ---- */

static void
remember_for_masking(char **copy, const char *value)
{
	if (*copy != NULL && strcmp(*copy, value) == 0)
		return;
	if (*copy != NULL)
	{
		explicit_bzero(*copy, strlen(*copy));
		free(*copy);
	}
	*copy = strdup(value);		/* without it, only the masking is lost */
}

const char *
iai_temp_last_key(void)
{
	return last_key;
}

const char *
iai_temp_last_token(void)
{
	return last_token;
}

/* ---- deciding ---- */

typedef enum Action
{
	ACT_USE,					/* the current credentials */
	ACT_REFRESH,				/* fetch; the current ones are a fallback */
	ACT_FETCH,					/* fetch; there is nothing else */
	ACT_WAIT,					/* another process is fetching */
	ACT_FAILED,					/* the last fetch failed just now */
	ACT_SKIP					/* absent, and in the chain */
} Action;

static bool
claim_alive(const Slot *s, int64 now)
{
	if (s->refresher == 0 || s->refresher == MyProcPid || now > s->refresh_until)
		return false;
	return !(shared_area && kill(s->refresher, 0) != 0 && errno == ESRCH);
}

static bool
usable(const Slot *s, const IaiTempRequest *req, uint64 newer_than, int64 now)
{
	return s->config == req->config && s->generation > newer_than &&
		s->secret_id[0] != '\0' && now < s->expires_at;
}

static Action
decide(const Slot *s, const IaiTempRequest *req, uint64 newer_than, int64 now)
{
	bool		skippable = s->absent && req->in_chain;
	bool		failed = s->config == req->config && s->failed_at != 0 &&
		now - s->failed_at < (skippable ? ABSENT_MEMORY_S : FAILURE_MEMORY_S);

	if (usable(s, req, newer_than, now))
	{
		if (now < s->expires_at - iai_credentials_refresh_margin_s ||
			claim_alive(s, now) || failed)
			return ACT_USE;
		return ACT_REFRESH;
	}
	if (claim_alive(s, now))
		return ACT_WAIT;
	if (failed)
		return skippable ? ACT_SKIP : ACT_FAILED;
	return ACT_FETCH;
}

/* ---- copying in and out (lock held) ---- */

static void
copy_out(const Slot *s, IaiTempCredentials *out)
{
	out->secret_id = pstrdup(s->secret_id);
	out->secret_key = pstrdup(s->secret_key);
	out->token = pstrdup(s->token);
	out->role = s->role[0] ? pstrdup(s->role) : NULL;
	out->expires_at = s->expires_at;
	out->generation = s->generation;
	remember_for_masking(&last_key, s->secret_key);
	remember_for_masking(&last_token, s->token);
}

static void
forget_credentials(Slot *s)
{
	explicit_bzero(s->secret_key, sizeof(s->secret_key));
	explicit_bzero(s->token, sizeof(s->token));
	s->secret_id[0] = '\0';
	s->role[0] = '\0';
	s->expires_at = 0;
}

static void
store_success(Slot *s, const IaiTempRequest *req, const IaiTempFetch *f, int64 now)
{
	forget_credentials(s);
	s->config = req->config;
	s->generation++;
	s->fetched_at = now;
	s->expires_at = f->expires_at;
	s->failed_at = 0;
	s->absent = false;
	strlcpy(s->role, f->role ? f->role : "", sizeof(s->role));
	strlcpy(s->secret_id, f->secret_id, sizeof(s->secret_id));
	strlcpy(s->secret_key, f->secret_key, sizeof(s->secret_key));
	strlcpy(s->token, f->token, sizeof(s->token));
}

static void
store_failure(Slot *s, const IaiTempRequest *req, const IaiTempFetch *f, int64 now)
{
	if (s->config != req->config)
		forget_credentials(s);
	s->config = req->config;
	s->failed_at = now;
	s->absent = f->absent;
	s->fail_sqlstate = f->sqlstate;
	strlcpy(s->fail_message, f->message ? f->message : "", sizeof(s->fail_message));
	strlcpy(s->fail_detail, f->detail ? f->detail : "", sizeof(s->fail_detail));
	strlcpy(s->fail_hint, f->hint ? f->hint : "", sizeof(s->fail_hint));
}

static void
wipe_fetch(IaiTempFetch *f)
{
	if (f->secret_key)
		explicit_bzero(f->secret_key, strlen(f->secret_key));
	if (f->token)
		explicit_bzero(f->token, strlen(f->token));
}

pg_noreturn static void
raise_failure(int sqlstate, const char *message, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg_internal("%s", message),
			 detail && detail[0] ? errdetail_internal("%s", detail) : 0,
			 hint && hint[0] ? errhint("%s", hint) : 0));
	pg_unreachable();
}

/* ---- obtaining ---- */

/* Fetch, having claimed it: without the lock, giving up the claim on error. */
static bool
fetch_claimed(const IaiTempRequest *req, Slot *s, const char *known_role,
			  IaiTempFetch *f)
{
	volatile bool ok = false;

	PG_TRY();
	{
		ok = req->fetch(req->arg, known_role, f);
	}
	PG_CATCH();
	{
		/* cancelled or out of memory: no verdict on the source */
		lock_area(LW_EXCLUSIVE);
		if (s->refresher == MyProcPid)
			s->refresher = 0;
		unlock_area();
		PG_RE_THROW();
	}
	PG_END_TRY();
	return ok;
}

/*
 * Credentials of generation above newer_than.  quiet: return false on a
 * failure of the source instead of raising it.
 */
static bool
obtain(const IaiTempRequest *req, uint64 newer_than, bool quiet, IaiTempCredentials *out)
{
	Slot	   *s = slot_for(req->source);

	memset(out, 0, sizeof(*out));
	for (;;)
	{
		int64		now = (int64) time(NULL);
		Action		act;
		IaiTempFetch f;
		bool		ok;
		char		known_role[IAI_ROLE_NAME_MAX + 1] = "";

		lock_area(LW_SHARED);
		act = decide(s, req, newer_than, now);
		if (act == ACT_REFRESH || act == ACT_FETCH)
		{
			/* to claim the fetch, look again under the exclusive lock */
			unlock_area();
			lock_area(LW_EXCLUSIVE);
			act = decide(s, req, newer_than, now);
			if (act == ACT_REFRESH || act == ACT_FETCH)
			{
				s->refresher = MyProcPid;
				s->refresh_until = now + req->fetch_budget_s;
				if (s->config == req->config)
					strlcpy(known_role, s->role, sizeof(known_role));
			}
		}
		switch (act)
		{
			case ACT_USE:
				copy_out(s, out);
				unlock_area();
				return true;
			case ACT_WAIT:
				unlock_area();
				iai_wait_until(iai_now_ns() + WAIT_SLICE_NS);
				continue;
			case ACT_SKIP:
			case ACT_FAILED:
				{
					int			sqlstate = s->fail_sqlstate;
					char	   *message = pstrdup(s->fail_message);
					char	   *detail = psprintf("%s%sThe last attempt failed %d s ago; the next is made no sooner than %d s from now.",
												  s->fail_detail, s->fail_detail[0] ? " " : "",
												  (int) (now - s->failed_at),
												  (int) (s->failed_at + FAILURE_MEMORY_S - now));
					char	   *hint = pstrdup(s->fail_hint);

					unlock_area();
					if (act == ACT_SKIP)
					{
						out->absent = message;
						return false;
					}
					if (quiet)
						return false;
					raise_failure(sqlstate, message, detail, hint);
				}
			case ACT_REFRESH:
			case ACT_FETCH:
				unlock_area();
				break;
		}

		ok = fetch_claimed(req, s, known_role[0] ? known_role : NULL, &f);
		now = (int64) time(NULL);
		lock_area(LW_EXCLUSIVE);
		if (s->refresher == MyProcPid)
			s->refresher = 0;
		if (ok)
		{
			store_success(s, req, &f, now);
			copy_out(s, out);
			unlock_area();
			wipe_fetch(&f);
			return true;
		}
		store_failure(s, req, &f, now);
		if (usable(s, req, newer_than, now))
		{
			copy_out(s, out);
			unlock_area();
			ereport(LOG,
					(errcode(f.sqlstate),
					 errmsg("could not refresh temporary credentials: %s", f.message),
					 errdetail_internal("%s%sThe current ones are used until they expire in %d s; the next attempt is made in %d s.",
										f.detail ? f.detail : "", f.detail ? " " : "",
										(int) (out->expires_at - now), FAILURE_MEMORY_S)));
			return true;
		}
		unlock_area();
		if (f.absent && req->in_chain)
		{
			out->absent = f.message;
			return false;
		}
		if (quiet)
			return false;
		raise_failure(f.sqlstate, f.message, f.detail, f.hint);
	}
}

bool
iai_temp_credentials(const IaiTempRequest *req, IaiTempCredentials *out)
{
	return obtain(req, 0, false, out);
}

bool
iai_temp_renew(const IaiTempRequest *req, uint64 used_generation,
			   IaiTempCredentials *out)
{
	Slot	   *s = slot_for(req->source);
	int64		now = (int64) time(NULL);
	bool		too_young;

	memset(out, 0, sizeof(*out));
	lock_area(LW_SHARED);
	if (usable(s, req, used_generation, now))
	{
		/* another process has already refreshed them */
		copy_out(s, out);
		unlock_area();
		return true;
	}
	too_young = s->config == req->config && s->generation == used_generation &&
		now - s->fetched_at < RENEW_MIN_AGE_S;
	unlock_area();
	if (too_young)
		return false;
	return obtain(req, used_generation, true, out);
}
