/*-------------------------------------------------------------------------
 *
 * worker.c
 *		After-commit mode, the delivering side: a background worker that
 *		sends what iai_queue holds in one database.
 *
 * Started by the launcher (launcher.c) for a database named in
 * iai.database_name; waits there for the extension to exist.
 *
 * Several calls are in flight at once (up to iai.queue_max_in_flight, each
 * on a keep-alive connection of its own, see http.c's pool), so that
 * delivery keeps up with iai.rate_limit over a long round trip.  Calls are
 * claimed in small groups, marked 'sending' in a synchronously committed
 * transaction *before* they are sent, so after a crash a row still
 * 'sending' may or may not have been delivered and is sent again "in
 * doubt", where "already gone" means done.  The rows claimed but not yet
 * sent (waiting for their rate-limit slots) are remembered in shared
 * memory, so a worker that dies before sending them puts them back as they
 * were, not in doubt.  A row is never claimed while another row for the
 * same PersonId is being sent, or an older one is pending: calls for one
 * person are sent one at a time, in order (the service refuses concurrent
 * operations on one person).  A window of calls claims until a reload is
 * due, then lets its calls finish: settings, iai.queue_max_in_flight among
 * them, are reloaded between windows.  Results are recorded as they come,
 * those that came together in one transaction (asynchronous commit is
 * enough: a lost result only causes one in-doubt resend).
 *
 * What went wrong comes back as data (IaiFailure), never as message text.
 * A failure that is not about the row -- the network, the service, the
 * account, the credentials or the settings -- pauses delivery for the whole
 * queue instead of spending the attempts of the rows that wait: the worker
 * then probes with one row at growing intervals (iai.queue_retry_interval
 * doubling, at most a minute; at once after a reload, as the settings may
 * have been the trouble), one call at a time, and resumes at full rate when
 * a probe gets an answer about its row.  Calls already in flight when
 * delivery pauses are let finish and recorded.  It logs once when it
 * pauses, every iai.queue_pause_warning while
 * paused, and once when it resumes; such failures get no line per row.
 * Only failures about the row itself count as attempts: retried with
 * exponential backoff up to iai.queue_max_attempts, or dead-lettered at
 * once when another attempt cannot help.  Each attempt is a single request
 * (iai.max_retries does not apply here), so every failure shows in the
 * queue.
 *
 * The worker sleeps on its latch, set by every transaction that enqueued
 * when it commits.  SIGTERM ends it at once, even inside a query; SIGHUP
 * reloads settings.  Its SQL runs with search_path pinned to pg_catalog.
 * Done rows older than iai.queue_retention are deleted.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/procarray.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#if PG_VERSION_NUM >= 140000
#include "utils/wait_event.h"
#endif

#include "api.h"
#include "http.h"
#include "queue.h"
#include "settings.h"
#include "shmem.h"
#include "stats.h"
#include "throttle.h"

PGDLLEXPORT void iai_worker_main(Datum main_arg);

#define NO_EXTENSION_TICK_MS 1000L
/* with calls in flight, claim at least this often (ms), however few are free */
#define CLAIM_EVERY_MS 20
#define IDLE_TICK_MS 10000L
#define PURGE_EVERY_MS 60000L
#define MAX_BACKOFF_MS (10 * 60 * 1000L)
#define MAX_PROBE_MS 60000L

/* One claimed row. */
typedef struct QueueRow
{
	MemoryContext cxt;			/* the row's and its result's memory */
	int64		id;
	char	   *action;
	Jsonb	   *params;
	bool		missing_ok;
	bool		in_doubt;
	int			attempts;		/* including this one */
} QueueRow;

/* What became of a row's attempt. */
typedef enum RowOutcome
{
	ROW_DONE,
	ROW_FAILED,					/* about the row: counted as an attempt */
	ROW_OUTAGE,					/* not about the row: pause the queue */
	ROW_PUT_BACK				/* interrupted before it could matter */
} RowOutcome;

typedef struct RowResult
{
	bool		ok;
	char	   *request_id;
	char	   *accepted_code;	/* "already gone" taken as success */
	bool		put_back;		/* claimed, then given up before an answer */
	IaiFailure	failure;
} RowResult;

/* Delivery paused by an outage. */
static struct
{
	bool		paused;
	TimestampTz since;
	TimestampTz next_probe;
	TimestampTz last_warning;
	long		probe_ms;
	char		reason[256];
}			outage_state;

static IaiWorkerSlot *slot;
static MemoryContext worker_cxt;

/* the database this worker delivers for (TopMemoryContext) */
static char *dbname;
static char *queue_table;		/* schema-qualified, or NULL */

/* ---- shared state ---- */

bool
iai_worker_slot(Oid dboid, IaiWorkerSlot *copy)
{
	bool		found = false;

	if (iai_shared == NULL)
		return false;
	SpinLockAcquire(&iai_shared->worker_lock);
	for (int i = 0; i < IAI_MAX_DATABASES; i++)
	{
		if (iai_shared->workers[i].in_use && iai_shared->workers[i].dboid == dboid)
		{
			*copy = iai_shared->workers[i];
			found = true;
			break;
		}
	}
	SpinLockRelease(&iai_shared->worker_lock);
	/* a worker killed outright cannot clear its own entry */
	if (found && copy->pid != 0 && BackendPidGetProc(copy->pid) == NULL)
		copy->pid = 0;
	return found;
}

void
iai_worker_wake(void)
{
	Latch	   *latch = NULL;

	if (iai_shared == NULL)
		return;
	SpinLockAcquire(&iai_shared->worker_lock);
	for (int i = 0; i < IAI_MAX_DATABASES; i++)
		if (iai_shared->workers[i].in_use && iai_shared->workers[i].pid != 0 &&
			iai_shared->workers[i].dboid == MyDatabaseId)
			latch = iai_shared->workers[i].latch;
	SpinLockRelease(&iai_shared->worker_lock);
	if (latch != NULL)
		SetLatch(latch);
}

static void
worker_exit(int code, Datum arg)
{
	SpinLockAcquire(&iai_shared->worker_lock);
	slot->pid = 0;
	slot->latch = NULL;
	slot->paused_since = 0;
	slot->next_probe_at = 0;
	SpinLockRelease(&iai_shared->worker_lock);
}

static void
announce(void)
{
	SpinLockAcquire(&iai_shared->worker_lock);
	slot->pid = MyProcPid;
	slot->latch = MyLatch;
	slot->started = GetCurrentTimestamp();
	slot->heartbeat = slot->started;
	slot->paused_since = 0;
	slot->next_probe_at = 0;
	SpinLockRelease(&iai_shared->worker_lock);
	before_shmem_exit(worker_exit, (Datum) 0);
}

static void
heartbeat(void)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&iai_shared->worker_lock);
	slot->heartbeat = now;
	SpinLockRelease(&iai_shared->worker_lock);
}

/* Note that row id is claimed but not sent (add), or no longer (!add). */
static void
set_unsent(int64 id, bool add)
{
	SpinLockAcquire(&iai_shared->worker_lock);
	for (int i = 0; i < IAI_MAX_IN_FLIGHT; i++)
	{
		if (slot->unsent_ids[i] == (add ? 0 : id))
		{
			slot->unsent_ids[i] = add ? id : 0;
			break;
		}
	}
	SpinLockRelease(&iai_shared->worker_lock);
}

static void
clear_unsent(void)
{
	SpinLockAcquire(&iai_shared->worker_lock);
	memset(slot->unsent_ids, 0, sizeof(slot->unsent_ids));
	SpinLockRelease(&iai_shared->worker_lock);
}

/* iai_before_send_hook: the one claimed row's request is leaving now. */
static void
row_sending(void)
{
	clear_unsent();
}

static void
publish_pause(void)
{
	SpinLockAcquire(&iai_shared->worker_lock);
	slot->paused_since = outage_state.paused ? outage_state.since : 0;
	slot->next_probe_at = outage_state.paused ? outage_state.next_probe : 0;
	strlcpy(slot->pause_reason, outage_state.paused ? outage_state.reason : "",
			sizeof(slot->pause_reason));
	SpinLockRelease(&iai_shared->worker_lock);
}

/* ---- transactions ---- */

/* The caller's memory context, restored when its transaction ends. */
static MemoryContext work_caller_cxt;

static void
begin_work(const char *activity, bool durable)
{
	work_caller_cxt = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "could not connect to SPI manager");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
	/* only the claim must survive a crash; results may be redone */
	SetConfigOption("synchronous_commit", durable ? "on" : "off",
					PGC_SUSET, PGC_S_SESSION);
}

static void
end_work(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(work_caller_cxt);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * Find iai_queue in the extension's schema; NULL when the extension is not
 * installed in this database.  Inside begin_work().
 */
static char *
find_queue_table(void)
{
	int			rc;
	char	   *value;

	if (get_extension_oid("iai", true) == InvalidOid)
		return NULL;
	rc = SPI_execute("SELECT pg_catalog.quote_ident(n.nspname) || '.iai_queue'"
					 " FROM pg_catalog.pg_extension e"
					 " JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
					 " WHERE e.extname = 'iai'", true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		return NULL;
	value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	/* the same as before: no new copy in a window that may last long */
	if (queue_table != NULL && strcmp(queue_table, value) == 0)
		return queue_table;
	return MemoryContextStrdup(worker_cxt, value);
}

static void
run_sql(const char *sql, int expected)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc != expected)
		elog(ERROR, "iai worker: could not execute \"%s\": %s", sql, SPI_result_code_string(rc));
}

static int64
count_waiting(void)
{
	int64		n = 0;
	bool		isnull;

	begin_work("iai: counting queued calls", false);
	queue_table = find_queue_table();
	if (queue_table != NULL &&
		SPI_execute(psprintf("SELECT pg_catalog.count(*) FROM %s"
							 " WHERE state IN ('pending', 'sending')", queue_table),
					true, 1) == SPI_OK_SELECT && SPI_processed == 1)
		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										SPI_tuptable->tupdesc, 1, &isnull));
	end_work();
	return n;
}

/* ---- one row ---- */

/*
 * The claiming statement, prepared once per queue table (a probe takes a row
 * before it is due): $1 rows at most, due first, none while another row for
 * the same PersonId is being sent or an older one is pending (ids follow
 * the sequence, not commit order), marked 'sending' at once.
 */
static SPIPlanPtr
claim_plan(bool probe)
{
	static SPIPlanPtr plans[2];
	static char *prepared_for[2];
	Oid			types[1] = {INT4OID};
	SPIPlanPtr	plan;

	if (plans[probe] != NULL && strcmp(prepared_for[probe], queue_table) == 0)
		return plans[probe];
	if (plans[probe] != NULL)
	{
		SPI_freeplan(plans[probe]);
		pfree(prepared_for[probe]);
		plans[probe] = NULL;
	}
	plan = SPI_prepare(psprintf("WITH due AS ("
								"  SELECT id FROM %s q"
								"  WHERE state = 'pending'%s"
								"  AND NOT EXISTS (SELECT FROM %s o"
								"   WHERE (o.params ->> 'PersonId') = (q.params ->> 'PersonId')"
								"   AND o.state IN ('pending', 'sending') AND o.id <> q.id"
								"   AND (o.state = 'sending' OR o.id < q.id))"
								"  ORDER BY next_attempt_at, id LIMIT $1"
								"  FOR UPDATE SKIP LOCKED),"
								" claimed AS ("
								"  UPDATE %s q SET state = 'sending', attempts = q.attempts + 1,"
								"   last_attempt_at = pg_catalog.now()"
								"  FROM due WHERE q.id = due.id"
								"  RETURNING q.id, q.action, q.params, q.missing_ok, q.in_doubt,"
								"   q.attempts, q.next_attempt_at)"
								" SELECT id, action, params, missing_ok, in_doubt, attempts"
								" FROM claimed ORDER BY next_attempt_at, id",
								queue_table,
								probe ? "" : " AND next_attempt_at <= pg_catalog.now()",
								queue_table, queue_table),
					   1, types);
	if (plan == NULL)
		elog(ERROR, "iai worker: could not prepare the claiming statement: %s",
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	plans[probe] = plan;
	prepared_for[probe] = MemoryContextStrdup(TopMemoryContext, queue_table);
	return plan;
}

/*
 * Claim up to max due rows, durably marked 'sending', into rows[], in the
 * order they are to be sent; a probe takes the next pending one even if its
 * retry is not due yet.  A row waits while an older one for the same
 * PersonId is pending or sending.  Returns how many, with *sleep_ms the time
 * until the next one is due when there are none.
 */
static int
claim_rows(QueueRow *rows, int max, bool probe, long *sleep_ms)
{
	int			rc;
	int			n = 0;

	*sleep_ms = IDLE_TICK_MS;
	begin_work("iai: claiming queued calls", true);
	queue_table = find_queue_table();
	if (queue_table == NULL)
	{
		end_work();
		*sleep_ms = NO_EXTENSION_TICK_MS;
		return 0;
	}

	{
		Datum		limit = Int32GetDatum(max);

		rc = SPI_execute_plan(claim_plan(probe), &limit, NULL, false, 0);
	}
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "iai worker: could not claim rows: %s", SPI_result_code_string(rc));

	for (n = 0; n < (int) SPI_processed; n++)
	{
		QueueRow   *row = &rows[n];
		MemoryContext old;
		HeapTuple	t = SPI_tuptable->vals[n];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;

		row->cxt = AllocSetContextCreate(worker_cxt, "iai row", ALLOCSET_SMALL_SIZES);
		old = MemoryContextSwitchTo(row->cxt);
		row->id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		row->action = SPI_getvalue(t, d, 2);
		row->params = DatumGetJsonbPCopy(SPI_getbinval(t, d, 3, &isnull));
		row->missing_ok = DatumGetBool(SPI_getbinval(t, d, 4, &isnull));
		row->in_doubt = DatumGetBool(SPI_getbinval(t, d, 5, &isnull));
		row->attempts = DatumGetInt32(SPI_getbinval(t, d, 6, &isnull));
		MemoryContextSwitchTo(old);
		/* 'sending' once this commits, but not sent: see recover_in_flight */
		set_unsent(row->id, true);
	}
	if (n == 0)
	{
		/* sleep until the next scheduled retry, if sooner than the tick */
		rc = SPI_execute(psprintf("SELECT pg_catalog.ceil(1000 * extract(epoch FROM"
								  " min(next_attempt_at) - pg_catalog.now()))::bigint"
								  " FROM %s WHERE state = 'pending'", queue_table),
						 true, 1);
		if (rc == SPI_OK_SELECT && SPI_processed == 1)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			/*
			 * Rows due but not claimed are locked by someone else, or wait
			 * for an older call for the same person: look again in a second
			 * rather than spin.
			 */
			if (!isnull)
				*sleep_ms = DatumGetInt64(d) <= 0 ? 1000 :
					Min(DatumGetInt64(d), IDLE_TICK_MS);
		}
	}
	end_work();
	return n;
}

/* Send one row; never throws (SIGTERM ends the process instead). */
static void
send_row(const QueueRow *row, RowResult *res)
{
	MemoryContext cxt = CurrentMemoryContext;
	IaiResult	result;

	memset(res, 0, sizeof(*res));
	memset(&result, 0, sizeof(result));
	pgstat_report_activity(STATE_RUNNING, "iai: sending a queued call");
	StartTransactionCommand();
	PG_TRY();
	{
		iai_api_call(row->action, row->params,
					 (row->missing_ok || row->in_doubt) ? IAI_MISSING_OK : 0,
					 &result);
		MemoryContextSwitchTo(cxt);
		res->ok = true;
		res->request_id = pstrdup(result.request_id);
		if (result.accepted_code)
			res->accepted_code = pstrdup(result.accepted_code);
		CommitTransactionCommand();
		MemoryContextSwitchTo(cxt);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		IaiFailure *f = &res->failure;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		/* the failure as the call described it, copied out of the transaction */
		if (result.failure.failed)
		{
			*f = result.failure;
			f->code = f->code ? pstrdup(f->code) : NULL;
			f->request_id = f->request_id ? pstrdup(f->request_id) : NULL;
			f->message = pstrdup(f->message);
		}
		else
		{
			f->failed = true;
			f->kind = IAI_FAILED_LOCAL;
			f->sqlstate = edata->sqlerrcode;
			f->message = pstrdup(edata->message);
		}
		AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	clear_unsent();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Failures that another attempt cannot fix: the request itself is wrong. */
static bool
permanent(const IaiFailure *f)
{
	return f->kind == IAI_FAILED_INPUT ||
		ERRCODE_TO_CATEGORY(f->sqlstate) == ERRCODE_DATA_EXCEPTION ||
		f->sqlstate == ERRCODE_NO_DATA_FOUND ||
		f->sqlstate == ERRCODE_FEATURE_NOT_SUPPORTED ||
		f->sqlstate == ERRCODE_PROGRAM_LIMIT_EXCEEDED;
}

static RowOutcome
classify(const RowResult *res)
{
	if (res->ok)
		return ROW_DONE;
	if (res->put_back)
		return ROW_PUT_BACK;
	if (res->failure.outage)
		return ROW_OUTAGE;
	if (res->failure.kind == IAI_FAILED_LOCAL &&
		res->failure.sqlstate == ERRCODE_QUERY_CANCELED)
		return ROW_PUT_BACK;
	return ROW_FAILED;
}

static long
backoff_ms(int attempts)
{
	double		ms = (double) iai_queue_retry_interval_ms * (1 << Min(attempts - 1, 20));

	ms = Min(ms, (double) MAX_BACKOFF_MS);
	/* equal jitter: keep at least half, so retries stay spread out */
	return (long) (ms * (0.5 + 0.5 * iai_random()));
}

/* The UPDATE that records an outcome, prepared once per queue table. */
static SPIPlanPtr
record_plan(Oid *types)
{
	static SPIPlanPtr plan = NULL;
	static char *prepared_for = NULL;

	if (plan != NULL && strcmp(prepared_for, queue_table) == 0)
		return plan;
	if (plan != NULL)
	{
		SPI_freeplan(plan);
		pfree(prepared_for);
	}
	/* a row put back without an error keeps its last one */
	plan = SPI_prepare(psprintf("UPDATE %s SET state = $2, request_id = $3,"
								" last_error_code = CASE WHEN $2 <> 'done' AND $4 IS NULL"
								"  AND $5 IS NULL THEN last_error_code ELSE $4 END,"
								" last_error_message = CASE WHEN $2 <> 'done' AND $4 IS NULL"
								"  AND $5 IS NULL THEN last_error_message ELSE $5 END,"
								" next_attempt_at = pg_catalog.now() + $6 * interval '1 ms',"
								" done_at = CASE WHEN $2 = 'done' THEN pg_catalog.now() END,"
								" in_doubt = $7, attempts = $8"
								" WHERE id = $1", queue_table),
					   8, types);
	if (plan == NULL)
		elog(ERROR, "iai worker: could not prepare the result update: %s",
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	prepared_for = MemoryContextStrdup(TopMemoryContext, queue_table);
	return plan;
}

/* Record what became of a row; inside begin_work(). */
static void
record_one(const QueueRow *row, const RowResult *res, RowOutcome outcome)
{
	const IaiFailure *f = &res->failure;
	const char *state;
	const char *code = NULL;
	bool		in_doubt = row->in_doubt;
	int			attempts = row->attempts;
	long		delay_ms = 0;
	Oid			types[8] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID,
	BOOLOID, INT4OID};
	Datum		values[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	int			rc;

	/* the extension was dropped while calls were in flight */
	if (queue_table == NULL)
		return;

	switch (outcome)
	{
		case ROW_DONE:
			state = "done";
			code = res->accepted_code;
			break;
		case ROW_OUTAGE:
		case ROW_PUT_BACK:
			/* not the row's fault: the attempt does not count */
			state = "pending";
			attempts--;
			in_doubt |= f->maybe_sent;
			break;
		default:
			in_doubt |= f->maybe_sent;
			if (permanent(f) || row->attempts >= iai_queue_max_attempts)
				state = "dead";
			else
			{
				state = "pending";
				delay_ms = backoff_ms(row->attempts);
			}
			ereport(LOG,
					(errmsg("iai queue row %lld, attempt %d: %s",
							(long long) row->id, row->attempts, f->message),
					 errdetail("The row is now %s.", state)));
			break;
	}
	if (outcome != ROW_DONE && (f->code != NULL || f->sqlstate != 0))
		code = f->code ? f->code : unpack_sql_state(f->sqlstate);

	values[0] = Int64GetDatum(row->id);
	values[1] = CStringGetTextDatum(state);
	{
		const char *request_id = res->ok ? res->request_id : f->request_id;

		values[2] = request_id ? CStringGetTextDatum(request_id) : (Datum) 0;
		nulls[2] = request_id ? ' ' : 'n';
	}
	values[3] = code ? CStringGetTextDatum(code) : (Datum) 0;
	nulls[3] = code ? ' ' : 'n';
	values[4] = f->message ? CStringGetTextDatum(f->message) : (Datum) 0;
	nulls[4] = f->message ? ' ' : 'n';
	values[5] = Int64GetDatum(delay_ms);
	values[6] = BoolGetDatum(in_doubt);
	values[7] = Int32GetDatum(attempts);
	rc = SPI_execute_plan(record_plan(types), values, nulls, false, 1);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "iai worker: could not record the outcome of row %lld: %s",
			 (long long) row->id, SPI_result_code_string(rc));
}

/* Record what became of a row, in a transaction of its own. */
static void
record(const QueueRow *row, const RowResult *res, RowOutcome outcome)
{
	begin_work("iai: recording a result", false);
	record_one(row, res, outcome);
	end_work();
}

/* ---- pausing for outages ---- */

static char *
interval_text(TimestampTz from, TimestampTz to)
{
	long		secs;
	int			usecs;

	TimestampDifference(from, to, &secs, &usecs);
	if (secs < 120)
		return psprintf("%ld s", secs);
	if (secs < 7200)
		return psprintf("%ld min %ld s", secs / 60, secs % 60);
	return psprintf("%ld h %ld min", secs / 3600, (secs % 3600) / 60);
}

/* An outage failure: pause, or probe again later if already paused. */
static void
outage(const IaiFailure *f)
{
	TimestampTz now = GetCurrentTimestamp();

	if (!outage_state.paused)
	{
		int64		waiting = count_waiting();

		outage_state.paused = true;
		outage_state.since = now;
		outage_state.last_warning = now;
		outage_state.probe_ms = Min(Max(iai_queue_retry_interval_ms, 100), MAX_PROBE_MS);
		snprintf(outage_state.reason, sizeof(outage_state.reason), "%s: %s",
				 f->code ? f->code : unpack_sql_state(f->sqlstate), f->message);
		ereport(LOG,
				(errmsg("iai queue delivery paused: %s", outage_state.reason),
				 errdetail_plural("%lld call is waiting. One call is sent as a probe at growing intervals, at most a minute apart, until one gets an answer.",
								  "%lld calls are waiting. One call is sent as a probe at growing intervals, at most a minute apart, until one gets an answer.",
								  (unsigned long) waiting, (long long) waiting),
				 errhint("Correct the cause of SQLSTATE %s; the calls keep their attempts until delivery resumes.",
						 unpack_sql_state(f->sqlstate))));
	}
	else
	{
		outage_state.probe_ms = Min(outage_state.probe_ms * 2, MAX_PROBE_MS);
		snprintf(outage_state.reason, sizeof(outage_state.reason), "%s: %s",
				 f->code ? f->code : unpack_sql_state(f->sqlstate), f->message);
	}
	outage_state.next_probe = TimestampTzPlusMilliseconds(now, outage_state.probe_ms);
	publish_pause();
}

static void
resume(void)
{
	TimestampTz now = GetCurrentTimestamp();
	int64		waiting = count_waiting();

	ereport(LOG,
			(errmsg("iai queue delivery resumed after %s",
					interval_text(outage_state.since, now)),
			 errdetail_plural("%lld call is waiting.", "%lld calls are waiting.",
							  (unsigned long) waiting, (long long) waiting)));
	outage_state.paused = false;
	publish_pause();
}

static void
warn_if_long(void)
{
	TimestampTz now = GetCurrentTimestamp();

	if (iai_queue_pause_warning_s <= 0 ||
		!TimestampDifferenceExceeds(outage_state.last_warning, now,
									iai_queue_pause_warning_s * 1000))
		return;
	outage_state.last_warning = now;
	{
		int64		waiting = count_waiting();

		ereport(WARNING,
				(errmsg("iai queue delivery has been paused for %s: %s",
						interval_text(outage_state.since, now), outage_state.reason),
				 errdetail_plural("%lld call is waiting.", "%lld calls are waiting.",
								  (unsigned long) waiting, (long long) waiting)));
	}
}

/* ---- recovery and housekeeping ---- */

/*
 * Rows left 'sending' by a crash may have been delivered: resend in doubt.
 * The one claimed but known not to have been sent goes back as it was.
 */
static void
recover_in_flight(void)
{
	StringInfoData unsent;
	int64		ids[IAI_MAX_IN_FLIGHT];

	/* copied out first: nothing that may raise runs under a spinlock */
	SpinLockAcquire(&iai_shared->worker_lock);
	memcpy(ids, slot->unsent_ids, sizeof(ids));
	SpinLockRelease(&iai_shared->worker_lock);
	initStringInfo(&unsent);
	for (int i = 0; i < IAI_MAX_IN_FLIGHT; i++)
		if (ids[i] != 0)
			appendStringInfo(&unsent, "%s" INT64_FORMAT,
							 unsent.len > 0 ? "," : "", ids[i]);

	begin_work("iai: recovering", true);
	queue_table = find_queue_table();
	if (queue_table != NULL)
	{
		if (unsent.len > 0)
			run_sql(psprintf("UPDATE %s SET state = 'pending', attempts = attempts - 1"
							 " WHERE state = 'sending' AND id IN (%s)",
							 queue_table, unsent.data), SPI_OK_UPDATE);
		/* one that keeps crashing the worker ends as a dead letter */
		run_sql(psprintf("UPDATE %s SET in_doubt = true, next_attempt_at = pg_catalog.now(),"
						 " state = CASE WHEN attempts >= %d THEN 'dead' ELSE 'pending' END,"
						 " last_error_message = CASE WHEN attempts >= %d"
						 "  THEN 'the worker stopped during this attempt' END"
						 " WHERE state = 'sending'", queue_table,
						 iai_queue_max_attempts, iai_queue_max_attempts), SPI_OK_UPDATE);
		if (SPI_processed > 0)
			ereport(LOG,
					(errmsg_plural("iai queue worker: %llu call was in flight when the worker stopped and will be sent again",
								   "iai queue worker: %llu calls were in flight when the worker stopped and will be sent again",
								   (unsigned long) SPI_processed,
								   (unsigned long long) SPI_processed),
					 errdetail("An \"already gone\" answer to them counts as done.")));
	}
	end_work();
	clear_unsent();
}

static void
purge_done(void)
{
	begin_work("iai: purging done rows", false);
	queue_table = find_queue_table();
	if (queue_table != NULL)
		run_sql(psprintf("DELETE FROM %s WHERE state = 'done'"
						 " AND done_at < pg_catalog.now() - %d * interval '1 s'",
						 queue_table, iai_queue_retention_s), SPI_OK_DELETE);
	end_work();
}

/* Delete done rows past their retention, every PURGE_EVERY_MS at most. */
static void
purge_if_due(void)
{
	static TimestampTz last_purge = 0;

	if (TimestampDifferenceExceeds(last_purge, GetCurrentTimestamp(), PURGE_EVERY_MS))
	{
		purge_done();
		last_purge = GetCurrentTimestamp();
	}
}

/*
 * Reload the configuration files; stop when the database is no longer
 * listed, and probe at once when paused, as the settings may have been the
 * trouble.
 */
static void
reload_settings(void)
{
	ConfigReloadPending = false;
	ProcessConfigFile(PGC_SIGHUP);
	if (!iai_database_listed(dbname))
	{
		ereport(LOG,
				(errmsg("iai queue worker for database \"%s\" stopping: \"iai.database_name\" no longer lists it",
						dbname)));
		proc_exit(0);
	}
	if (outage_state.paused)
	{
		outage_state.probe_ms = Min(Max(iai_queue_retry_interval_ms, 100), MAX_PROBE_MS);
		outage_state.next_probe = GetCurrentTimestamp();
		publish_pause();
	}
}

static void
wait_ms(long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 Max(ms, 1), iai_wait_event(IAI_WAIT_QUEUE_IDLE));
	ResetLatch(MyLatch);
}

/* Claim one row and deliver it; false when there was none. */
static bool
deliver_one(bool probe, long *sleep_ms)
{
	MemoryContext old;
	QueueRow	row;
	RowResult	res;
	RowOutcome	outcome;

	if (claim_rows(&row, 1, probe, sleep_ms) == 0)
		return false;
	old = MemoryContextSwitchTo(row.cxt);
	send_row(&row, &res);
	outcome = classify(&res);
	record(&row, &res, outcome);
	if (outcome == ROW_OUTAGE)
		outage(&res.failure);
	else if (outage_state.paused && outcome != ROW_PUT_BACK)
		resume();				/* an answer about the row: the way is clear */
	heartbeat();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(row.cxt);
	return true;
}

/* ---- many rows in flight ---- */

/* A row of the window: claimed, then in flight, then done. */
typedef struct Flight
{
	QueueRow	row;
	IaiAttempt *att;
	int64		leave_ns;		/* its rate-limit slot, once taken (0: none) */
	int64		reserved_ns;	/* when it began to wait for its slot */
	bool		sent;
	RowResult	res;
} Flight;

static struct
{
	Flight	   *flights;		/* iai.queue_max_in_flight of them */
	int			size;
	Flight	  **waiting;		/* claimed, not yet sent, in order */
	int			nwaiting;
	int			nsent;			/* in flight */
	Flight	  **done;			/* results to record */
	int			ndone;
}			win;

static Flight *
free_flight(void)
{
	for (int i = 0; i < win.size; i++)
		if (win.flights[i].row.cxt == NULL)
			return &win.flights[i];
	return NULL;
}

/* Copy a call's failure into the row's memory. */
static void
keep_failure(Flight *f, const IaiResult *result, const ErrorData *edata)
{
	IaiFailure *fl = &f->res.failure;
	MemoryContext old = MemoryContextSwitchTo(f->row.cxt);

	if (result->failure.failed)
	{
		*fl = result->failure;
		fl->code = fl->code ? pstrdup(fl->code) : NULL;
		fl->request_id = fl->request_id ? pstrdup(fl->request_id) : NULL;
		fl->message = pstrdup(fl->message);
	}
	else
	{
		fl->failed = true;
		fl->kind = IAI_FAILED_LOCAL;
		fl->sqlstate = edata->sqlerrcode;
		fl->message = pstrdup(edata->message);
	}
	MemoryContextSwitchTo(old);
}

/* In a PG_CATCH: keep the error raised for the row, and abort its transaction. */
static void
catch_failure(Flight *f, const IaiResult *result)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(f->row.cxt);
	edata = CopyErrorData();
	FlushErrorState();
	keep_failure(f, result, edata);
	AbortCurrentTransaction();
}

/* Validate a claimed row's call; a row refused before sending is done with. */
static bool
prepare_flight(Flight *f)
{
	MemoryContext cxt = CurrentMemoryContext;
	IaiResult	result;
	volatile bool ok = true;

	StartTransactionCommand();
	MemoryContextSwitchTo(f->row.cxt);
	PG_TRY();
	{
		f->att = iai_attempt_prepare(f->row.action, f->row.params,
									 (f->row.missing_ok || f->row.in_doubt) ? IAI_MISSING_OK : 0,
									 &result);
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		catch_failure(f, &result);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return ok;
}

/* Send a row whose slot has come. */
static void
send_flight(Flight *f)
{
	MemoryContext cxt = CurrentMemoryContext;
	int64		waited = f->reserved_ns ? Max(iai_now_ns() - f->reserved_ns, 0) : 0;
	IaiResult	result;

	set_unsent(f->row.id, false);
	StartTransactionCommand();
	PG_TRY();
	{
		iai_attempt_send(f->att, f, waited, &result);
		CommitTransactionCommand();
		f->sent = true;
		win.nsent++;
	}
	PG_CATCH();
	{
		/* not sent (signing, settings, the pool): recorded like any failure */
		catch_failure(f, &result);
		iai_attempt_free(f->att);
		f->att = NULL;
		win.done[win.ndone++] = f;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
}

/* Take in the answer of a finished row. */
static void
finish_flight(Flight *f, HttpResponse *resp)
{
	MemoryContext cxt = CurrentMemoryContext;
	IaiResult	result;
	IaiAttempt *att = f->att;

	f->att = NULL;
	f->sent = false;
	win.nsent--;
	StartTransactionCommand();
	MemoryContextSwitchTo(f->row.cxt);
	PG_TRY();
	{
		iai_attempt_finish(att, resp, &result);
		f->res.ok = true;
		f->res.request_id = result.request_id;
		f->res.accepted_code = result.accepted_code;
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		catch_failure(f, &result);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	/* the answer was read into the worker's long-lived context */
	if (resp->body)
		pfree(resp->body);
	resp->body = NULL;
	win.done[win.ndone++] = f;
}

/* Record the results gathered, in one transaction; pause on an outage. */
static void
record_done(void)
{
	RowOutcome	outcomes[IAI_MAX_IN_FLIGHT];
	int			outage_at = -1;

	if (win.ndone == 0)
		return;
	for (int i = 0; i < win.ndone; i++)
	{
		outcomes[i] = classify(&win.done[i]->res);
		if (outcomes[i] == ROW_OUTAGE && outage_at < 0)
			outage_at = i;
	}
	begin_work("iai: recording results", false);
	for (int i = 0; i < win.ndone; i++)
		record_one(&win.done[i]->row, &win.done[i]->res, outcomes[i]);
	end_work();
	if (outage_at >= 0 && !outage_state.paused)
		outage(&win.done[outage_at]->res.failure);
	for (int i = 0; i < win.ndone; i++)
	{
		set_unsent(win.done[i]->row.id, false);
		MemoryContextDelete(win.done[i]->row.cxt);
		memset(win.done[i], 0, sizeof(Flight));
	}
	win.ndone = 0;
	heartbeat();
}

/*
 * Put the rows not yet sent back as they were, and those in flight (when
 * an error ends the window) as pending in doubt; the attempt does not count.
 */
static void
put_back(bool in_flight_too)
{
	for (int i = 0; i < win.nwaiting; i++)
	{
		Flight	   *f = win.waiting[i];

		if (f->att)
			iai_attempt_free(f->att);
		f->att = NULL;
		f->res.put_back = true;
		win.done[win.ndone++] = f;
	}
	win.nwaiting = 0;
	if (in_flight_too)
	{
		for (int i = 0; i < win.size; i++)
		{
			Flight	   *f = &win.flights[i];

			if (!f->sent)
				continue;
			f->sent = false;
			if (f->att)
				iai_attempt_free(f->att);
			f->att = NULL;
			f->res.put_back = true;
			f->res.failure.maybe_sent = true;
			win.done[win.ndone++] = f;
		}
		win.nsent = 0;
	}
}

/*
 * Deliver due rows with up to iai.queue_max_in_flight in flight, until
 * none is due and none in flight or delivery pauses; false when there was
 * none to deliver, with *sleep_ms the time until the next is due.
 */
static bool
deliver_window(long *sleep_ms)
{
	MemoryContext entry_cxt = CurrentMemoryContext;
	volatile bool any = false;
	bool		claim_more = true;
	volatile bool closing = false;
	int64		last_claim_ns = 0;
	int			free_slots;

	win.size = iai_queue_max_in_flight;
	win.flights = MemoryContextAllocZero(worker_cxt, sizeof(Flight) * win.size);
	win.waiting = MemoryContextAllocZero(worker_cxt, sizeof(Flight *) * win.size);
	win.done = MemoryContextAllocZero(worker_cxt, sizeof(Flight *) * win.size);
	win.nwaiting = win.nsent = win.ndone = 0;
	http_pool_set_size(win.size);

	PG_TRY();
	{
		for (;;)
		{
			int64		now;
			long		timeout_ms = 1000;
			HttpResponse resp;
			Flight	   *f;
			bool		can_claim;

			/*
			 * How many to claim at once: as many as may be in flight, but no
			 * more than a quarter second's worth under the rate limit, so
			 * that claimed rows do not wait long unsent; the next group is
			 * claimed while half of one still waits, so that slots are not
			 * missed for claiming.
			 */
			int			group = iai_rate_limit > 0 ?
				Min(Max(iai_rate_limit / 4, 1), win.size) : win.size;

			CHECK_FOR_INTERRUPTS();

			/*
			 * Claim no more and let what was claimed finish before a reload:
			 * prepared calls point at the settings, and a new window size
			 * applies to a new window.
			 */
			if (ConfigReloadPending)
				closing = true;
			purge_if_due();

			/*
			 * Claim a group when half of the last one has left.  Claiming
			 * commits synchronously, so it also waits until half the window
			 * is free or CLAIM_EVERY_MS has passed, not for every answer.
			 */
			free_slots = win.size - win.nsent - win.ndone - win.nwaiting;
			can_claim = claim_more && !closing && !outage_state.paused &&
				free_slots > 0 && win.nwaiting <= group / 2;
			if (can_claim &&
				(free_slots >= win.size / 2 || win.nsent == 0 ||
				 iai_now_ns() - last_claim_ns >= CLAIM_EVERY_MS * INT64CONST(1000000)))
			{
				QueueRow	rows[IAI_MAX_IN_FLIGHT];
				int			want = Min(free_slots, group - win.nwaiting);
				int			n;

				n = claim_rows(rows, want, false, sleep_ms);
				last_claim_ns = iai_now_ns();
				claim_more = (n > 0);
				for (int i = 0; i < n; i++)
				{
					f = free_flight();
					Assert(f != NULL);
					f->row = rows[i];
					if (prepare_flight(f))
						win.waiting[win.nwaiting++] = f;
					else
					{
						set_unsent(f->row.id, false);
						win.done[win.ndone++] = f;
					}
				}
				any |= (n > 0);
			}
			else if (can_claim)
			{
				/* a claim put off: wake for it even if no answer comes */
				int64		due = last_claim_ns + CLAIM_EVERY_MS * INT64CONST(1000000);

				timeout_ms = Max((long) ((due - iai_now_ns() + 999999) / 1000000), 1);
			}

			/* send those whose slots have come, in order */
			while (win.nwaiting > 0 && !outage_state.paused)
			{
				f = win.waiting[0];
				now = iai_now_ns();
				if (f->leave_ns == 0 && iai_rate_limit > 0)
				{
					int64		free_at = iai_throttle_next_free();

					if (f->reserved_ns == 0)
						f->reserved_ns = now;

					/*
					 * Take the slot only once it is due: whether a connection
					 * is idle then (an answer may come meanwhile) decides
					 * whether it must leave room for a handshake.
					 */
					if (free_at > now)
					{
						timeout_ms = (long) ((free_at - now + 999999) / 1000000);
						break;
					}
					f->leave_ns = iai_throttle_reserve(iai_attempt_ready());
				}
				if (f->leave_ns > now)
				{
					timeout_ms = (long) ((f->leave_ns - now + 999999) / 1000000);
					break;
				}
				send_flight(f);
				win.nwaiting--;
				memmove(win.waiting, win.waiting + 1, sizeof(Flight *) * win.nwaiting);
			}
			if (outage_state.paused)
				put_back(false);

			if (win.nsent == 0 && win.nwaiting == 0)
			{
				record_done();
				if (!claim_more || closing || outage_state.paused)
					break;
				continue;
			}

			/* wait for an answer, or the next slot */
			if (win.nsent > 0)
				(void) http_pool_wait(timeout_ms, iai_wait_event(IAI_WAIT_HTTP));
			else
				iai_wait_until(iai_now_ns() + (int64) timeout_ms * 1000000);
			while ((f = (Flight *) http_pool_next_done(&resp)) != NULL)
			{
				finish_flight(f, &resp);
				claim_more = true;	/* a later call for its person may go */
			}
			record_done();
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* a cancel: what was claimed goes back; anything else, likewise */
		MemoryContextSwitchTo(worker_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		MemoryContextSwitchTo(entry_cxt);
		http_pool_cancel_all();
		put_back(true);
		record_done();
		if (edata->sqlerrcode != ERRCODE_QUERY_CANCELED)
			ReThrowError(edata);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	return any;
}

void
iai_worker_main(Datum main_arg)
{
	bool		recovered = false;

	slot = &iai_shared->workers[DatumGetInt32(main_arg)];
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	/* SIGTERM: end at once, even waiting for a lock (see recover_in_flight) */
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(slot->dboid, InvalidOid, 0);
	dbname = MemoryContextStrdup(TopMemoryContext, slot->dbname);

	/* the queue retries, durably and visibly: one request per attempt */
	SetConfigOption("iai.max_retries", "0", PGC_SUSET, PGC_S_OVERRIDE);

	/*
	 * its SQL runs as a superuser: nothing of a search_path set for the
	 * database
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	worker_cxt = AllocSetContextCreate(TopMemoryContext, "iai worker",
									   ALLOCSET_DEFAULT_SIZES);
	iai_before_send_hook = row_sending;
	announce();
	ereport(LOG, (errmsg("iai queue worker started for database \"%s\"", dbname)));

	for (;;)
	{
		long		sleep_ms = IDLE_TICK_MS;
		bool		sent = false;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
			reload_settings();
		heartbeat();
		MemoryContextReset(worker_cxt);
		queue_table = NULL;

		if (!recovered)
		{
			recover_in_flight();
			recovered = (queue_table != NULL);
			if (!recovered)
			{
				wait_ms(NO_EXTENSION_TICK_MS);	/* not installed yet */
				continue;
			}
		}

		if (outage_state.paused)
		{
			TimestampTz now = GetCurrentTimestamp();

			warn_if_long();
			if (now < outage_state.next_probe)
			{
				long		secs;
				int			usecs;

				TimestampDifference(now, outage_state.next_probe, &secs, &usecs);
				wait_ms(secs * 1000 + usecs / 1000 + 1);
				continue;
			}
			if (!deliver_one(true, &sleep_ms))
				resume();		/* nothing left to deliver */
			continue;
		}

		sent = deliver_window(&sleep_ms);

		purge_if_due();
		pgstat_report_stat(false);
		if (!sent)
			wait_ms(sleep_ms);
	}
}
