/*-------------------------------------------------------------------------
 *
 * throttle.h
 *		Client-side rate limiting (iai.rate_limit) and interruptible waits.
 *
 *-------------------------------------------------------------------------
 */
#ifndef IAI_THROTTLE_H
#define IAI_THROTTLE_H

/* CLOCK_MONOTONIC in nanoseconds: comparable across backends. */
extern int64 iai_now_ns(void);

/* A uniformly distributed fraction in [0, 1), for backoff jitter. */
extern double iai_random(void);

/* Sleep until target_ns, waking at once for cancel, timeout or terminate. */
extern void iai_wait_until(int64 target_ns);

/*
 * Wait for this request's send slot under iai.rate_limit.  A request that
 * must first open a connection (connection_ready false) will reach the
 * service late by about a handshake, so it leaves that much more room to
 * the next slot.  Raises if the slot lies past deadline_ns.  Returns the
 * nanoseconds waited.
 */
extern int64 iai_throttle(int64 deadline_ns, bool connection_ready);

/*
 * Take the next send slot without waiting: returns when the request should
 * leave (iai_now_ns() time; 0 without a rate limit).  For callers that keep
 * other requests going meanwhile.
 */
extern int64 iai_throttle_reserve(bool connection_ready);

/*
 * When the next slot becomes free (iai_now_ns() time; 0 without a rate
 * limit), without taking it: a caller that keeps requests in flight waits
 * for that moment before reserving, so that whether a connection is then
 * idle is known when the slot is taken.
 */
extern int64 iai_throttle_next_free(void);

/* Learn how long opening a connection takes, from one that just did. */
extern void iai_throttle_note_setup(int64 setup_ns);

#endif							/* IAI_THROTTLE_H */
