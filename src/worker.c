/*-------------------------------------------------------------------------
 *
 * worker.c
 *		After-commit mode, the delivering side: a background worker that
 *		sends what iai_queue holds.
 *
 * Registered when iai is in shared_preload_libraries; connects to
 * iai.database_name and waits for the extension to exist there.  Each
 * round claims the due rows with FOR UPDATE SKIP LOCKED and marks them
 * 'sending' in a synchronously committed transaction *before* anything is
 * sent: after a crash, a row still 'sending' may or may not have been
 * delivered, so it is sent again "in doubt", where "already gone" means
 * done.  Results are then recorded one row per transaction (asynchronous
 * commit is enough: a lost result only causes one such in-doubt resend),
 * failures included, in a transaction of their own after the call's error
 * has been caught.  Each attempt is a single request (iai.max_retries does
 * not apply here), so every failure shows in the queue; transient ones are
 * retried with exponential backoff up to iai.queue_max_attempts, then the
 * row is dead-lettered.
 *
 * The worker sleeps on its latch, set by every transaction that enqueued
 * when it commits, with a timeout at the next scheduled retry or an idle
 * tick.  SIGTERM stops it at once: a request in flight is abandoned (and
 * its row left in doubt), rows claimed but not yet sent are put back as
 * they were.  SIGHUP reloads settings.  Its SQL runs with search_path
 * pinned to pg_catalog.  Done rows older than iai.queue_retention are
 * deleted.
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

#define IDLE_TICK_MS 10000L
#define PURGE_EVERY_MS 60000L
#define MAX_BATCH 100
#define MAX_BACKOFF_MS (10 * 60 * 1000L)

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

/* What became of it. */
typedef struct RowResult
{
	bool		ok;
	char	   *request_id;
	char	   *code;			/* API code, or SQLSTATE for other errors */
	char	   *message;
	int			sqlstate;
} RowResult;

static MemoryContext worker_cxt;
static char *queue_table;		/* schema-qualified, or NULL */

/* ---- shared state ---- */

void
iai_register_worker(void)
{
	BackgroundWorker w;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = 5;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "iai");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "iai_worker_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "iai queue worker");
	snprintf(w.bgw_type, BGW_MAXLEN, "iai queue worker");
	RegisterBackgroundWorker(&w);
}

void
iai_worker_wake(void)
{
	Latch	   *latch = NULL;

	if (iai_shared == NULL)
		return;
	SpinLockAcquire(&iai_shared->worker_lock);
	if (iai_shared->worker_pid != 0)
		latch = iai_shared->worker_latch;
	SpinLockRelease(&iai_shared->worker_lock);
	if (latch != NULL)
		SetLatch(latch);
}

int
iai_worker_pid(void)
{
	int			pid;

	if (iai_shared == NULL)
		return 0;
	SpinLockAcquire(&iai_shared->worker_lock);
	pid = iai_shared->worker_pid;
	SpinLockRelease(&iai_shared->worker_lock);
	/* a worker killed outright cannot clear its own entry */
	if (pid != 0 && BackendPidGetProc(pid) == NULL)
		pid = 0;
	return pid;
}

static void
worker_exit(int code, Datum arg)
{
	SpinLockAcquire(&iai_shared->worker_lock);
	iai_shared->worker_pid = 0;
	iai_shared->worker_latch = NULL;
	SpinLockRelease(&iai_shared->worker_lock);
}

static void
announce(void)
{
	SpinLockAcquire(&iai_shared->worker_lock);
	iai_shared->worker_pid = MyProcPid;
	iai_shared->worker_latch = MyLatch;
	iai_shared->worker_started = GetCurrentTimestamp();
	iai_shared->worker_heartbeat = iai_shared->worker_started;
	SpinLockRelease(&iai_shared->worker_lock);
	before_shmem_exit(worker_exit, (Datum) 0);
}

static void
heartbeat(void)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&iai_shared->worker_lock);
	iai_shared->worker_heartbeat = now;
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
		elog(ERROR, "SPI_connect failed");
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
 * Find iai_queue in the extension's schema; NULL (with the transaction
 * left open) when the extension is not installed in this database.
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
		elog(ERROR, "iai worker: \"%s\" failed: %s", sql, SPI_result_code_string(rc));
}

/* ---- one round ---- */

/*
 * Claim due rows, durably marked 'sending'.  Returns their number; when
 * there are none, sets *sleep_ms to the time until the next one is due.
 */
static int
claim(QueueRow **rows, long *sleep_ms)
{
	int			batch = iai_rate_limit > 0 ? Min(Max(iai_rate_limit, 1), MAX_BATCH) : MAX_BATCH;
	int			n = 0;
	int			rc;

	*sleep_ms = IDLE_TICK_MS;
	begin_work("iai: claiming queued calls", true);
	queue_table = find_queue_table();
	if (queue_table == NULL)
	{
		end_work();
		return 0;
	}

	rc = SPI_execute(psprintf("WITH due AS ("
							  "  SELECT id FROM %s"
							  "  WHERE state = 'pending' AND next_attempt_at <= pg_catalog.now()"
							  "  ORDER BY next_attempt_at, id LIMIT %d"
							  "  FOR UPDATE SKIP LOCKED)"
							  " UPDATE %s q SET state = 'sending', attempts = q.attempts + 1,"
							  "  last_attempt_at = pg_catalog.now()"
							  " FROM due WHERE q.id = due.id"
							  " RETURNING q.id, q.action, q.params, q.missing_ok, q.in_doubt, q.attempts",
							  queue_table, batch, queue_table),
					 false, 0);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "iai worker: claiming rows failed: %s", SPI_result_code_string(rc));

	if (SPI_processed > 0)
	{
		MemoryContext old = MemoryContextSwitchTo(worker_cxt);

		*rows = palloc(sizeof(QueueRow) * SPI_processed);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	t = SPI_tuptable->vals[i];
			TupleDesc	d = SPI_tuptable->tupdesc;
			bool		isnull;
			QueueRow   *r = &(*rows)[n++];

			r->id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
			r->action = SPI_getvalue(t, d, 2);
			r->params = DatumGetJsonbPCopy(SPI_getbinval(t, d, 3, &isnull));
			r->missing_ok = DatumGetBool(SPI_getbinval(t, d, 4, &isnull));
			r->in_doubt = DatumGetBool(SPI_getbinval(t, d, 5, &isnull));
			r->attempts = DatumGetInt32(SPI_getbinval(t, d, 6, &isnull));
		}
		MemoryContextSwitchTo(old);
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
	return n;
}

/* The API code at the start of an error message ("Code.Sub: text"), or NULL. */
static char *
api_code_of(const char *message)
{
	const char *colon = strstr(message, ": ");
	size_t		len;

	if (colon == NULL || !(message[0] >= 'A' && message[0] <= 'Z'))
		return NULL;
	len = colon - message;
	if (strspn(message, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.") < len)
		return NULL;
	return pnstrdup(message, len);
}

/* Send one row; never throws (but exits on SIGTERM). */
static void
send_row(const QueueRow *row, RowResult *res)
{
	MemoryContext cxt = CurrentMemoryContext;
	IaiResult	result;

	memset(res, 0, sizeof(*res));
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
			res->code = pstrdup(result.accepted_code);
		CommitTransactionCommand();
		MemoryContextSwitchTo(cxt);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		res->sqlstate = edata->sqlerrcode;
		res->message = pstrdup(edata->message);
		res->code = api_code_of(edata->message);
		if (res->code == NULL)
			res->code = pstrdup(unpack_sql_state(edata->sqlerrcode));
		/* an API error's DETAIL starts "RequestId: <id>." */
		if (edata->detail && strncmp(edata->detail, "RequestId: ", 11) == 0)
			res->request_id = pnstrdup(edata->detail + 11,
									   strcspn(edata->detail + 11, ". "));
		FreeErrorData(edata);
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Failures that another attempt cannot fix: the request itself is wrong. */
static bool
permanent(int sqlstate)
{
	return ERRCODE_TO_CATEGORY(sqlstate) == ERRCODE_DATA_EXCEPTION ||
		sqlstate == ERRCODE_NO_DATA_FOUND ||
		sqlstate == ERRCODE_FEATURE_NOT_SUPPORTED ||
		sqlstate == ERRCODE_PROGRAM_LIMIT_EXCEEDED;
}

/* Failures after which the request may still have been delivered. */
static bool
maybe_delivered(int sqlstate)
{
	return sqlstate == ERRCODE_CONNECTION_FAILURE ||
		sqlstate == ERRCODE_PROTOCOL_VIOLATION ||
		sqlstate == ERRCODE_CONNECTION_EXCEPTION ||
		sqlstate == ERRCODE_SYSTEM_ERROR ||
		sqlstate == ERRCODE_QUERY_CANCELED ||	/* cancelled mid-request */
		sqlstate == ERRCODE_ADMIN_SHUTDOWN;	/* abandoned mid-request */
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
								" in_doubt = $7"
								" WHERE id = $1", queue_table),
					   7, types);
	if (plan == NULL)
		elog(ERROR, "iai worker: could not prepare the result update: %s",
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	prepared_for = MemoryContextStrdup(TopMemoryContext, queue_table);
	return plan;
}

/* Record the outcome in a transaction of its own. */
static void
record(const QueueRow *row, const RowResult *res)
{
	const char *state;
	bool		in_doubt = row->in_doubt;
	long		delay_ms = 0;
	Oid			types[7] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, BOOLOID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	int			rc;

	if (res->ok)
		state = "done";
	else
	{
		in_doubt |= maybe_delivered(res->sqlstate);
		if (permanent(res->sqlstate) || row->attempts >= iai_queue_max_attempts)
			state = "dead";
		else
		{
			state = "pending";
			delay_ms = backoff_ms(row->attempts);
		}
		ereport(LOG,
				(errmsg("iai queue row %lld, attempt %d: %s",
						(long long) row->id, row->attempts, res->message),
				 errdetail("The row is now %s.", state)));
	}

	begin_work("iai: recording a result", false);
	values[0] = Int64GetDatum(row->id);
	values[1] = CStringGetTextDatum(state);
	values[2] = res->request_id ? CStringGetTextDatum(res->request_id) : (Datum) 0;
	nulls[2] = res->request_id ? ' ' : 'n';
	values[3] = res->code ? CStringGetTextDatum(res->code) : (Datum) 0;
	nulls[3] = res->code ? ' ' : 'n';
	values[4] = res->message ? CStringGetTextDatum(res->message) : (Datum) 0;
	nulls[4] = res->message ? ' ' : 'n';
	values[5] = Int64GetDatum(delay_ms);
	values[6] = BoolGetDatum(in_doubt);
	rc = SPI_execute_plan(record_plan(types), values, nulls, false, 1);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "iai worker: recording row %lld failed: %s",
			 (long long) row->id, SPI_result_code_string(rc));
	end_work();
}

/* Rows left 'sending' by a crash may have been delivered: resend in doubt. */
static void
recover_in_flight(void)
{
	begin_work("iai: recovering", true);
	queue_table = find_queue_table();
	if (queue_table != NULL)
	{
		/* one that keeps crashing the worker ends as a dead letter */
		run_sql(psprintf("UPDATE %s SET in_doubt = true, next_attempt_at = pg_catalog.now(),"
						 " state = CASE WHEN attempts >= %d THEN 'dead' ELSE 'pending' END,"
						 " last_error_message = CASE WHEN attempts >= %d"
						 "  THEN 'the worker stopped during this attempt' END"
						 " WHERE state = 'sending'", queue_table,
						 iai_queue_max_attempts, iai_queue_max_attempts), SPI_OK_UPDATE);
		if (SPI_processed > 0)
			ereport(LOG,
					(errmsg("iai queue worker: %llu calls were in flight at a crash and will be resent",
							(unsigned long long) SPI_processed),
					 errdetail("An \"already gone\" answer to them counts as done.")));
	}
	end_work();
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

/* Claimed rows not sent when asked to stop go back as they were. */
static void
release_unsent(const QueueRow *rows, int n)
{
	StringInfoData ids;

	if (n <= 0)
		return;
	initStringInfo(&ids);
	for (int i = 0; i < n; i++)
		appendStringInfo(&ids, "%s%lld", i ? "," : "", (long long) rows[i].id);
	begin_work("iai: stopping", true);
	run_sql(psprintf("UPDATE %s SET state = 'pending', attempts = attempts - 1"
					 " WHERE state = 'sending' AND id IN (%s)", queue_table, ids.data),
			SPI_OK_UPDATE);
	end_work();
}

/* Leave on SIGTERM; the postmaster restarts the worker unless it is stopping. */
static void
stop_if_asked(const QueueRow *unsent, int n)
{
	if (!ShutdownRequestPending)
		return;
	release_unsent(unsent, n);
	ereport(LOG, (errmsg("iai queue worker stopping")));
	proc_exit(1);
}

void
iai_worker_main(Datum main_arg)
{
	TimestampTz last_purge = 0;
	bool		recovered = false;
	char	   *connected_db;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	/* SIGTERM: finish with the queue tidy (see stop_if_asked) */
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	iai_abandon_flag = &ShutdownRequestPending;
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(iai_database_name, NULL, 0);
	connected_db = MemoryContextStrdup(TopMemoryContext, iai_database_name);

	/* the queue retries, durably and visibly: one request per attempt */
	SetConfigOption("iai.max_retries", "0", PGC_SUSET, PGC_S_OVERRIDE);
	/* its SQL runs as a superuser: nothing of a search_path set for the database */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	worker_cxt = AllocSetContextCreate(TopMemoryContext, "iai worker",
									   ALLOCSET_DEFAULT_SIZES);
	announce();
	ereport(LOG, (errmsg("iai queue worker started for database \"%s\"", iai_database_name)));

	for (;;)
	{
		QueueRow   *rows = NULL;
		long		sleep_ms;
		int			n;

		CHECK_FOR_INTERRUPTS();
		stop_if_asked(NULL, 0);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/* a worker serves one database: let the postmaster start anew */
			if (strcmp(iai_database_name, connected_db) != 0)
			{
				ereport(LOG,
						(errmsg("iai queue worker restarting: iai.database_name changed from \"%s\" to \"%s\"",
								connected_db, iai_database_name)));
				proc_exit(1);
			}
		}
		heartbeat();
		MemoryContextReset(worker_cxt);
		queue_table = NULL;

		if (!recovered)
		{
			recover_in_flight();
			recovered = (queue_table != NULL);
		}

		n = recovered ? claim(&rows, &sleep_ms) : 0;
		if (!recovered)
			sleep_ms = IDLE_TICK_MS;	/* the extension is not installed yet */

		for (int i = 0; i < n; i++)
		{
			MemoryContext rowcxt = AllocSetContextCreate(worker_cxt, "iai row",
														 ALLOCSET_SMALL_SIZES);
			MemoryContext old = MemoryContextSwitchTo(rowcxt);
			RowResult	res;

			stop_if_asked(&rows[i], n - i);
			send_row(&rows[i], &res);
			record(&rows[i], &res);
			heartbeat();
			MemoryContextSwitchTo(old);
			MemoryContextDelete(rowcxt);
		}

		if (recovered &&
			TimestampDifferenceExceeds(last_purge, GetCurrentTimestamp(), PURGE_EVERY_MS))
		{
			purge_done();
			last_purge = GetCurrentTimestamp();
		}
		pgstat_report_stat(true);

		if (n > 0)
			continue;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, iai_wait_event(IAI_WAIT_QUEUE_IDLE));
		ResetLatch(MyLatch);
	}
}
