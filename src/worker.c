/*-------------------------------------------------------------------------
 *
 * worker.c
 *		After-commit mode, the delivering side: a background worker that
 *		sends what iai_queue holds in one database.
 *
 * Started by the launcher (launcher.c) for a database named in
 * iai.database_name; waits there for the extension to exist.  Each call is
 * claimed on its own: marked 'sending' in a synchronously committed
 * transaction *before* it is sent, so after a crash a row still 'sending'
 * may or may not have been delivered and is sent again "in doubt", where
 * "already gone" means done.  The one row claimed but not yet sent (waiting
 * for its rate-limit slot) is remembered in shared memory, so a worker
 * that dies before sending it puts it back as it was, not in doubt.
 * Results are recorded one row per transaction (asynchronous commit is
 * enough: a lost result only causes one in-doubt resend).
 *
 * What went wrong comes back as data (IaiFailure), never as message text.
 * A failure that is not about the row -- the network, the service, the
 * account, the credentials or the settings -- pauses delivery for the whole
 * queue instead of spending the attempts of the rows that wait: the worker
 * then probes with one row at growing intervals (iai.queue_retry_interval
 * doubling, at most a minute; at once after a reload, as the settings may
 * have been the trouble) and resumes at full rate when a probe gets an
 * answer about its row.  It logs once when it pauses, every iai.queue_pause_warning while
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
#include "queue.h"
#include "settings.h"
#include "shmem.h"
#include "stats.h"
#include "throttle.h"

PGDLLEXPORT void iai_worker_main(Datum main_arg);

#define NO_EXTENSION_TICK_MS 1000L
#define IDLE_TICK_MS 10000L
#define PURGE_EVERY_MS 60000L
#define MAX_BACKOFF_MS (10 * 60 * 1000L)
#define MAX_PROBE_MS 60000L

/* One claimed row. */
typedef struct QueueRow
{
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
} outage_state;

static IaiWorkerSlot *slot;
static MemoryContext worker_cxt;
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

static void
set_unsent(int64 id)
{
	SpinLockAcquire(&iai_shared->worker_lock);
	slot->unsent_id = id;
	SpinLockRelease(&iai_shared->worker_lock);
}

/* iai_before_send_hook: the claimed row's request is leaving now. */
static void
row_sending(void)
{
	set_unsent(0);
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

	if (get_extension_oid("iai", true) == InvalidOid)
		return NULL;
	rc = SPI_execute("SELECT pg_catalog.quote_ident(n.nspname) || '.iai_queue'"
					 " FROM pg_catalog.pg_extension e"
					 " JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
					 " WHERE e.extname = 'iai'", true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		return NULL;
	return MemoryContextStrdup(worker_cxt,
							   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
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
 * Claim the next due row, durably marked 'sending'; a probe takes the next
 * pending one even if its retry is not due yet.  Returns false when there
 * is none, with *sleep_ms the time until the next one is due.
 */
static bool
claim(QueueRow *row, bool probe, long *sleep_ms)
{
	int			rc;
	bool		found = false;

	*sleep_ms = IDLE_TICK_MS;
	begin_work("iai: claiming a queued call", true);
	queue_table = find_queue_table();
	if (queue_table == NULL)
	{
		end_work();
		*sleep_ms = NO_EXTENSION_TICK_MS;
		return false;
	}

	rc = SPI_execute(psprintf("WITH due AS ("
							  "  SELECT id FROM %s"
							  "  WHERE state = 'pending'%s"
							  "  ORDER BY next_attempt_at, id LIMIT 1"
							  "  FOR UPDATE SKIP LOCKED)"
							  " UPDATE %s q SET state = 'sending', attempts = q.attempts + 1,"
							  "  last_attempt_at = pg_catalog.now()"
							  " FROM due WHERE q.id = due.id"
							  " RETURNING q.id, q.action, q.params, q.missing_ok, q.in_doubt, q.attempts",
							  queue_table,
							  probe ? "" : " AND next_attempt_at <= pg_catalog.now()",
							  queue_table),
					 false, 0);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "iai worker: could not claim a row: %s", SPI_result_code_string(rc));

	if (SPI_processed == 1)
	{
		MemoryContext old = MemoryContextSwitchTo(worker_cxt);
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;

		row->id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		row->action = SPI_getvalue(t, d, 2);
		row->params = DatumGetJsonbPCopy(SPI_getbinval(t, d, 3, &isnull));
		row->missing_ok = DatumGetBool(SPI_getbinval(t, d, 4, &isnull));
		row->in_doubt = DatumGetBool(SPI_getbinval(t, d, 5, &isnull));
		row->attempts = DatumGetInt32(SPI_getbinval(t, d, 6, &isnull));
		MemoryContextSwitchTo(old);
		found = true;
		/* 'sending' once this commits, but not sent: see recover_in_flight */
		set_unsent(row->id);
	}
	else
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
			 * Rows due but not claimed are locked by someone else: look
			 * again in a second rather than spin.
			 */
			if (!isnull)
				*sleep_ms = DatumGetInt64(d) <= 0 ? 1000 :
					Min(DatumGetInt64(d), IDLE_TICK_MS);
		}
	}
	end_work();
	return found;
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
	set_unsent(0);
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
	plan = SPI_prepare(psprintf("UPDATE %s SET state = $2, request_id = $3,"
								" last_error_code = $4, last_error_message = $5,"
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

/* Record what became of a row, in a transaction of its own. */
static void
record(const QueueRow *row, const RowResult *res, RowOutcome outcome)
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
	if (outcome != ROW_DONE)
		code = f->code ? f->code : unpack_sql_state(f->sqlstate);

	begin_work("iai: recording a result", false);
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
	int64		unsent;

	SpinLockAcquire(&iai_shared->worker_lock);
	unsent = slot->unsent_id;
	SpinLockRelease(&iai_shared->worker_lock);

	begin_work("iai: recovering", true);
	queue_table = find_queue_table();
	if (queue_table != NULL)
	{
		if (unsent != 0)
			run_sql(psprintf("UPDATE %s SET state = 'pending', attempts = attempts - 1"
							 " WHERE state = 'sending' AND id = " INT64_FORMAT,
							 queue_table, unsent), SPI_OK_UPDATE);
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
	set_unsent(0);
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
	MemoryContext rowcxt;
	MemoryContext old;
	QueueRow	row;
	RowResult	res;
	RowOutcome	outcome;

	if (!claim(&row, probe, sleep_ms))
		return false;
	rowcxt = AllocSetContextCreate(worker_cxt, "iai row", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(rowcxt);
	send_row(&row, &res);
	outcome = classify(&res);
	record(&row, &res, outcome);
	if (outcome == ROW_OUTAGE)
		outage(&res.failure);
	else if (outage_state.paused && outcome != ROW_PUT_BACK)
		resume();				/* an answer about the row: the way is clear */
	heartbeat();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(rowcxt);
	return true;
}

void
iai_worker_main(Datum main_arg)
{
	TimestampTz last_purge = 0;
	bool		recovered = false;
	char	   *dbname;

	slot = &iai_shared->workers[DatumGetInt32(main_arg)];
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	/* SIGTERM: end at once, even waiting for a lock (see recover_in_flight) */
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(slot->dboid, InvalidOid, 0);
	dbname = MemoryContextStrdup(TopMemoryContext, slot->dbname);

	/* the queue retries, durably and visibly: one request per attempt */
	SetConfigOption("iai.max_retries", "0", PGC_SUSET, PGC_S_OVERRIDE);
	/* its SQL runs as a superuser: nothing of a search_path set for the database */
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
			/* the settings may have been the trouble: probe at once */
			if (outage_state.paused)
			{
				outage_state.probe_ms = Min(Max(iai_queue_retry_interval_ms, 100), MAX_PROBE_MS);
				outage_state.next_probe = GetCurrentTimestamp();
				publish_pause();
			}
		}
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

		sent = deliver_one(false, &sleep_ms);

		if (TimestampDifferenceExceeds(last_purge, GetCurrentTimestamp(), PURGE_EVERY_MS))
		{
			purge_done();
			last_purge = GetCurrentTimestamp();
		}
		pgstat_report_stat(false);
		if (!sent)
			wait_ms(sleep_ms);
	}
}
