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

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "shmem.h"

/*
 * queue.c: add a call to the outbox of the current transaction; returns its
 * queue id if want_id (otherwise it is assigned at commit, and 0 returned).
 */
extern int64 iai_enqueue(const char *action, Jsonb *params, bool missing_ok,
						 bool want_id);

/* launcher.c: the launcher, and the databases iai.database_name lists */
extern void iai_register_launcher(void);
extern List *iai_listed_databases(void);
extern bool iai_database_listed(const char *dbname);

/*
 * worker.c: wake the worker of this database at commit; copy the state of
 * the worker serving dboid (false when none is assigned to it; pid 0 when
 * it is not running).
 */
extern void iai_worker_wake(void);
extern bool iai_worker_slot(Oid dboid, IaiWorkerSlot *copy);

#endif							/* IAI_QUEUE_H */
