/*-------------------------------------------------------------------------
 *
 * shmem.c
 *		State shared by every backend when iai is in
 *		shared_preload_libraries.
 *
 * Loaded any other way, iai_shared stays NULL and each backend keeps its
 * own state (the throttle is then per backend, and nothing is counted).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "credcache.h"
#include "shmem.h"
#include "stats.h"

IaiSharedState *iai_shared = NULL;

static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static Size
shmem_size(void)
{
	return MAXALIGN(sizeof(IaiSharedState)) + iai_stats_shmem_size() +
		iai_credcache_shmem_size();
}

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;

static void
iai_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(shmem_size());
	iai_stats_request_lwlocks();
	iai_credcache_request_lwlocks();
}
#endif

static void
iai_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	iai_shared = ShmemInitStruct("iai", shmem_size(), &found);
	if (!found)
	{
		memset(iai_shared, 0, sizeof(IaiSharedState));
		SpinLockInit(&iai_shared->throttle_lock);
		iai_shared->throttle_setup_ns = 100 * INT64CONST(1000000);
		SpinLockInit(&iai_shared->worker_lock);
	}
	iai_stats_shmem_init((char *) iai_shared + MAXALIGN(sizeof(IaiSharedState)), found);
	iai_credcache_shmem_init((char *) iai_shared + MAXALIGN(sizeof(IaiSharedState)) +
							 iai_stats_shmem_size(), found);
	LWLockRelease(AddinShmemInitLock);
}

void
iai_shmem_install_hooks(void)
{
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = iai_shmem_request;
#else
	RequestAddinShmemSpace(shmem_size());
	iai_stats_request_lwlocks();
	iai_credcache_request_lwlocks();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = iai_shmem_startup;
}
