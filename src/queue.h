/*-------------------------------------------------------------------------
 *
 * queue.h
 *		After-commit mode: the transactional outbox (iai_queue) and the
 *		background worker that delivers it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef IAI_QUEUE_H
#define IAI_QUEUE_H

#include "utils/jsonb.h"

/*
 * queue.c: add a call to the outbox of the current transaction; returns its
 * queue id if want_id (otherwise it is assigned at commit, and 0 returned).
 */
extern int64 iai_enqueue(const char *action, Jsonb *params, bool missing_ok,
						 bool want_id);

/* worker.c */
extern void iai_register_worker(void);
extern void iai_worker_wake(void);
extern int	iai_worker_pid(void);	/* 0 unless the worker is running */

#endif							/* IAI_QUEUE_H */
