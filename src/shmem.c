/*-------------------------------------------------------------------------
 *
 * shmem.c
 *		State shared by every backend when iai is in
 *		shared_preload_libraries.
 *
 * Loaded any other way, iai_shared stays NULL and each backend keeps its
 * own state (the throttle is then per backend).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "shmem.h"

IaiSharedState *iai_shared = NULL;

static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;

static void
iai_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(IaiSharedState)));
}
#endif

static void
iai_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	iai_shared = ShmemInitStruct("iai", sizeof(IaiSharedState), &found);
	if (!found)
	{
		memset(iai_shared, 0, sizeof(IaiSharedState));
		SpinLockInit(&iai_shared->throttle_lock);
		iai_shared->throttle_setup_ns = 100 * INT64CONST(1000000);
		SpinLockInit(&iai_shared->worker_lock);
	}
	LWLockRelease(AddinShmemInitLock);
}

void
iai_shmem_install_hooks(void)
{
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = iai_shmem_request;
#else
	RequestAddinShmemSpace(MAXALIGN(sizeof(IaiSharedState)));
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = iai_shmem_startup;
}
