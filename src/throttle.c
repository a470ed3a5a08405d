/*-------------------------------------------------------------------------
 *
 * throttle.c
 *		Client-side rate limiting (iai.rate_limit) and interruptible waits.
 *
 * Requests are paced, not burst: each takes the next free slot on a shared
 * timeline whose slots are 1/rate seconds apart, plus a 6% margin for
 * jitter, so that no second at the service sees more than rate requests
 * even when a backend is held up for some 40 ms between its slot and its
 * send (4% let a loaded 2-core machine put 51 in a second at 50/s).
 * A request that must first open a connection (TCP and TLS) goes out that
 * much after its slot, so it pushes the next slot back by the time a
 * handshake takes.  (Leaving a handshake early instead would make it
 * arrive early whenever the estimate runs long, and bunch requests.)  How
 * long a handshake takes is learnt (starting from 100 ms) as a moving
 * average of samples capped at 500 ms, so one slow handshake neither sticks
 * nor makes every backend's next cold call wait for seconds.  With the
 * library preloaded the timeline is in shared memory and paces every
 * backend together; otherwise each backend paces itself.
 *
 * Waiting uses the process latch, so a cancel, statement_timeout or
 * terminate interrupts it at once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#if PG_VERSION_NUM >= 150000
#include "common/pg_prng.h"
#endif
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#if PG_VERSION_NUM >= 140000
#include "utils/wait_event.h"
#endif

#include "settings.h"
#include "shmem.h"
#include "stats.h"
#include "throttle.h"

#define NS_PER_SEC INT64CONST(1000000000)
#define NS_PER_MS INT64CONST(1000000)
#define PACING_MARGIN 1.06
#define INITIAL_SETUP_NS (100 * NS_PER_MS)
/* a handshake sample counts for at most this; the average moves by 1/4 */
#define MAX_SETUP_NS (500 * NS_PER_MS)
#define SETUP_WEIGHT 4
/* how late a slot may be taken and still count as its own time */
#define MAX_LATE_NS (2 * NS_PER_MS)

/* The timeline and handshake estimate when not preloaded. */
static int64 local_next_ns = 0;
static int64 local_setup_ns = INITIAL_SETUP_NS;

int64
iai_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

double
iai_random(void)
{
#if PG_VERSION_NUM >= 150000
	return pg_prng_double(&pg_global_prng_state);
#else
	return (double) random() / ((double) MAX_RANDOM_VALUE + 1);
#endif
}

void
iai_wait_until(int64 target_ns)
{
	for (;;)
	{
		int64		left;

		CHECK_FOR_INTERRUPTS();
		left = target_ns - iai_now_ns();
		if (left <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 (long) ((left + NS_PER_MS - 1) / NS_PER_MS),
						 iai_wait_event(IAI_WAIT_THROTTLE));
		ResetLatch(MyLatch);
	}
}

/*
 * Take the next free slot, unless it lies past deadline_ns; a cold request
 * pushes the one after back by a handshake.  Returns the slot (or the free
 * one that was too late, untaken).
 */
static int64
take_slot(int64 deadline_ns, bool connection_ready, bool *taken)
{
	int64		interval;
	int64		now;
	int64		slot;
	int64	   *next;
	int64	   *setup;

	interval = (int64) (NS_PER_SEC * PACING_MARGIN / iai_rate_limit);
	if (iai_shared != NULL)
		SpinLockAcquire(&iai_shared->throttle_lock);
	next = iai_shared ? &iai_shared->throttle_next_ns : &local_next_ns;
	setup = iai_shared ? &iai_shared->throttle_setup_ns : &local_setup_ns;
	now = iai_now_ns();

	/*
	 * A slot missed by a wait's rounding (at most MAX_LATE_NS) is still the
	 * one taken, so that the timeline does not drift.
	 */
	slot = (*next > now - Min(interval / 4, MAX_LATE_NS)) ? *next : now;
	*taken = (slot <= deadline_ns);
	if (*taken)
		*next = slot + interval + (connection_ready ? 0 : *setup);
	if (iai_shared != NULL)
		SpinLockRelease(&iai_shared->throttle_lock);
	return slot;
}

int64
iai_throttle(int64 deadline_ns, bool connection_ready)
{
	int64		now;
	int64		start;
	bool		taken;

	if (iai_rate_limit <= 0)
		return 0;
	now = iai_now_ns();
	start = take_slot(deadline_ns, connection_ready, &taken);
	if (!taken)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("no request slot under \"iai.rate_limit\" = %d before the call's deadline",
						iai_rate_limit),
				 errdetail("The next free slot is %.0f ms away.",
						   (double) (start - now) / NS_PER_MS),
				 errhint("Raise \"iai.total_timeout_ms\", or make fewer calls at once.")));
	if (start > now)
		iai_wait_until(start);
	return Max(start - now, 0);
}

int64
iai_throttle_next_free(void)
{
	int64		next;

	if (iai_rate_limit <= 0)
		return 0;
	if (iai_shared != NULL)
		SpinLockAcquire(&iai_shared->throttle_lock);
	next = iai_shared ? iai_shared->throttle_next_ns : local_next_ns;
	if (iai_shared != NULL)
		SpinLockRelease(&iai_shared->throttle_lock);
	return next;
}

int64
iai_throttle_reserve(bool connection_ready)
{
	bool		taken;

	if (iai_rate_limit <= 0)
		return 0;
	return take_slot(PG_INT64_MAX, connection_ready, &taken);
}

void
iai_throttle_note_setup(int64 setup_ns)
{
	int64	   *setup;

	setup_ns = Min(Max(setup_ns, 0), MAX_SETUP_NS);
	if (iai_shared != NULL)
		SpinLockAcquire(&iai_shared->throttle_lock);
	setup = iai_shared ? &iai_shared->throttle_setup_ns : &local_setup_ns;
	*setup += (setup_ns - *setup) / SETUP_WEIGHT;
	if (iai_shared != NULL)
		SpinLockRelease(&iai_shared->throttle_lock);
}
