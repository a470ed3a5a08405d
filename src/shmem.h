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

/* Most databases the queue workers can serve at once (iai.database_name). */
#define IAI_MAX_DATABASES 16

/* Most requests a queue worker keeps in flight (iai.queue_max_in_flight). */
#define IAI_MAX_IN_FLIGHT 256

/*
 * One database named in iai.database_name: the launcher fills in the name
 * and starts a worker, which reports on itself here.  Under worker_lock.
 */
typedef struct IaiWorkerSlot
{
	bool		in_use;
	char		dbname[NAMEDATALEN];
	Oid			dboid;			/* as the launcher found it */
	int			pid;			/* 0 when no worker runs */
	Latch	   *latch;
	TimestampTz started;
	TimestampTz heartbeat;
	/* delivery paused by an outage: since when, why, next probe */
	TimestampTz paused_since;	/* 0 while delivering */
	TimestampTz next_probe_at;
	char		pause_reason[256];
	/* queued calls claimed but not yet sent (see worker.c); 0 is free */
	int64		unsent_ids[IAI_MAX_IN_FLIGHT];
} IaiWorkerSlot;

typedef struct IaiSharedState
{
	/* throttle.c: the next free send slot, CLOCK_MONOTONIC nanoseconds */
	slock_t		throttle_lock;
	int64		throttle_next_ns;
	int64		throttle_setup_ns;	/* how long opening a connection takes */

	/* launcher.c and worker.c: who delivers iai_queue where */
	slock_t		worker_lock;
	int			launcher_pid;	/* 0 when not running */
	Latch	   *launcher_latch;
	IaiWorkerSlot workers[IAI_MAX_DATABASES];
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
