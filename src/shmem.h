/*-------------------------------------------------------------------------
 *
 * shmem.h
 *		State shared by every backend when iai is in
 *		shared_preload_libraries.
 *
 *-------------------------------------------------------------------------
 */
#ifndef IAI_SHMEM_H
#define IAI_SHMEM_H

#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/spin.h"

typedef struct IaiSharedState
{
	/* throttle.c: the next free send slot, CLOCK_MONOTONIC nanoseconds */
	slock_t		throttle_lock;
	int64		throttle_next_ns;
	int64		throttle_setup_ns;	/* how long opening a connection takes */

	/* worker.c: the queue worker, to wake it and to report on it */
	slock_t		worker_lock;
	int			worker_pid;		/* 0 when not running */
	Latch	   *worker_latch;
	TimestampTz worker_started;
	TimestampTz worker_heartbeat;
} IaiSharedState;

/*
 * NULL unless the library was preloaded.  The counters of stats.c, then
 * the temporary credentials of credcache.c, follow this struct in the same
 * segment.
 */
extern IaiSharedState *iai_shared;

/* Install the hooks; call from _PG_init while preloading. */
extern void iai_shmem_install_hooks(void);

#endif							/* IAI_SHMEM_H */
