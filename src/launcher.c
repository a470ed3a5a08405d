/*-------------------------------------------------------------------------
 *
 * launcher.c
 *		After-commit mode: the launcher that starts one queue worker per
 *		database named in iai.database_name.
 *
 * Registered when iai is in shared_preload_libraries.  The launcher
 * connects to no database (it reads only the shared catalog pg_database),
 * so a database that does not exist yet, was dropped or does not accept
 * connections costs no restart loop: the launcher waits for it, starts its
 * worker when it appears, and logs once per change of state.  A worker that
 * exits is started again RESTART_DELAY_MS later; one whose database
 * leaves the list is stopped.  All workers share one rate limit (the
 * throttle's timeline in shared memory).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "queue.h"
#include "settings.h"
#include "shmem.h"
#include "stats.h"

PGDLLEXPORT void iai_launcher_main(Datum main_arg);

#define POLL_MS 1000L
#define RESTART_DELAY_MS 5000L
#define UNLISTED_GRACE_MS 30000L

/* What the launcher last knew of a listed database, to log changes once. */
typedef enum DbState
{
	DB_UNKNOWN,
	DB_MISSING,
	DB_NO_CONNECTIONS,
	DB_SERVED
} DbState;

/* The launcher's own view of each slot (handles are process-local). */
static struct
{
	BackgroundWorkerHandle *handle;
	DbState		state;
	TimestampTz stopped_at;		/* when its worker was seen to have exited */
}			local[IAI_MAX_DATABASES];

void
iai_register_launcher(void)
{
	BackgroundWorker w;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = 10;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "iai");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "iai_launcher_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "iai queue launcher");
	snprintf(w.bgw_type, BGW_MAXLEN, "iai queue launcher");
	RegisterBackgroundWorker(&w);
}

/*
 * Split iai.database_name at commas, trimming blanks; at most
 * IAI_MAX_DATABASES names.  Database names are taken as written (case
 * included); a name containing a comma cannot be listed.
 */
List *
iai_listed_databases(void)
{
	List	   *names = NIL;
	const char *p = iai_database_name ? iai_database_name : "";

	while (*p)
	{
		const char *end = strchr(p, ',');
		const char *stop = end ? end : p + strlen(p);
		const char *a = p;
		const char *b = stop;

		while (a < b && isspace((unsigned char) *a))
			a++;
		while (b > a && isspace((unsigned char) b[-1]))
			b--;
		if (b > a && b - a < NAMEDATALEN)
			names = lappend(names, pnstrdup(a, b - a));
		p = end ? end + 1 : stop;
	}
	return names;
}

bool
iai_database_listed(const char *dbname)
{
	List	   *names = iai_listed_databases();
	ListCell   *lc;
	bool		found = false;

	foreach(lc, names)
	{
		if (strcmp(lfirst(lc), dbname) == 0)
			found = true;
	}
	list_free_deep(names);
	return found;
}

/*
 * Look the database up in pg_database: its OID, or why it cannot be served.
 * A plain scan, as the autovacuum launcher does: with no database selected,
 * the indexes of pg_database are out of reach.
 */
static DbState
examine_database(const char *name, Oid *oid)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	DbState		state = DB_MISSING;

	*oid = InvalidOid;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (strcmp(NameStr(db->datname), name) != 0)
			continue;
#ifdef DATCONNLIMIT_INVALID_DB
		/* a DROP DATABASE that was interrupted */
		if (db->datconnlimit == DATCONNLIMIT_INVALID_DB)
			break;
#endif
		*oid = db->oid;
		state = db->datallowconn ? DB_SERVED : DB_NO_CONNECTIONS;
		break;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return state;
}

static void
log_change(int i, DbState state, const char *name)
{
	if (local[i].state == state)
		return;
	local[i].state = state;
	if (state == DB_MISSING)
		ereport(LOG,
				(errmsg("iai queue launcher: database \"%s\" does not exist; its queue is served once it is created",
						name)));
	else if (state == DB_NO_CONNECTIONS)
		ereport(LOG,
				(errmsg("iai queue launcher: database \"%s\" does not accept connections; its queue is served once it does",
						name)));
}

static void
start_worker(int i, Oid dboid)
{
	BackgroundWorker w;
	MemoryContext old;
	bool		ok;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	w.bgw_main_arg = Int32GetDatum(i);
	w.bgw_notify_pid = MyProcPid;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "iai");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "iai_worker_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "iai queue worker for %s",
			 iai_shared->workers[i].dbname);
	snprintf(w.bgw_type, BGW_MAXLEN, "iai queue worker");

	SpinLockAcquire(&iai_shared->worker_lock);
	iai_shared->workers[i].dboid = dboid;
	SpinLockRelease(&iai_shared->worker_lock);

	local[i].stopped_at = 0;
	if (local[i].handle)
		pfree(local[i].handle);
	local[i].handle = NULL;
	old = MemoryContextSwitchTo(TopMemoryContext);
	ok = RegisterDynamicBackgroundWorker(&w, &local[i].handle);
	MemoryContextSwitchTo(old);
	if (!ok)
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start an iai queue worker for database \"%s\"",
						iai_shared->workers[i].dbname),
				 errhint("Raise \"max_worker_processes\".")));
}

static bool
worker_running(int i)
{
	pid_t		pid;

	return local[i].handle != NULL &&
		GetBackgroundWorkerPid(local[i].handle, &pid) != BGWH_STOPPED;
}

static void
stop_worker(int i)
{
	if (local[i].handle != NULL)
	{
		TerminateBackgroundWorker(local[i].handle);
		pfree(local[i].handle);
		local[i].handle = NULL;
	}
}

/* One pass: match the slots to the list, start and stop workers. */
static void
reconcile(void)
{
	List	   *names = iai_listed_databases();
	ListCell   *lc;
	bool		listed[IAI_MAX_DATABASES] = {false};

	foreach(lc, names)
	{
		const char *name = lfirst(lc);
		int			i;
		int			free_slot = -1;

		for (i = 0; i < IAI_MAX_DATABASES; i++)
		{
			if (iai_shared->workers[i].in_use &&
				strcmp(iai_shared->workers[i].dbname, name) == 0)
				break;
			if (!iai_shared->workers[i].in_use && free_slot < 0)
				free_slot = i;
		}
		if (i == IAI_MAX_DATABASES)
		{
			if (free_slot < 0)
				continue;		/* the list was cut at IAI_MAX_DATABASES */
			i = free_slot;
			SpinLockAcquire(&iai_shared->worker_lock);
			memset(&iai_shared->workers[i], 0, sizeof(IaiWorkerSlot));
			strlcpy(iai_shared->workers[i].dbname, name, NAMEDATALEN);
			iai_shared->workers[i].in_use = true;
			SpinLockRelease(&iai_shared->worker_lock);
			local[i].state = DB_UNKNOWN;
			local[i].stopped_at = 0;
			if (local[i].handle)
				pfree(local[i].handle);
			local[i].handle = NULL;
		}
		listed[i] = true;

		if (!worker_running(i))
		{
			Oid			dboid;
			DbState		state = examine_database(name, &dboid);
			TimestampTz now = GetCurrentTimestamp();

			log_change(i, state, name);
			/* a worker that exited is started again after a pause */
			if (local[i].handle != NULL && local[i].stopped_at == 0)
				local[i].stopped_at = now;
			if (state == DB_SERVED &&
				(local[i].handle == NULL ||
				 TimestampDifferenceExceeds(local[i].stopped_at, now, RESTART_DELAY_MS)))
				start_worker(i, dboid);
		}
		else
			local[i].state = DB_SERVED;
	}

	/*
	 * Databases no longer listed: their workers leave by themselves at the
	 * reload (or are stopped if they have not after a while); the slot is
	 * free once they have gone.
	 */
	for (int i = 0; i < IAI_MAX_DATABASES; i++)
	{
		if (!iai_shared->workers[i].in_use || listed[i])
			continue;
		if (worker_running(i))
		{
			TimestampTz now = GetCurrentTimestamp();

			if (local[i].stopped_at == 0)
				local[i].stopped_at = now;	/* here: when it was unlisted */
			else if (TimestampDifferenceExceeds(local[i].stopped_at, now, UNLISTED_GRACE_MS))
				stop_worker(i);
			continue;
		}
		stop_worker(i);
		SpinLockAcquire(&iai_shared->worker_lock);
		iai_shared->workers[i].in_use = false;
		SpinLockRelease(&iai_shared->worker_lock);
		local[i].state = DB_UNKNOWN;
	}
	list_free_deep(names);
}

static void
launcher_exit(int code, Datum arg)
{
	SpinLockAcquire(&iai_shared->worker_lock);
	iai_shared->launcher_pid = 0;
	iai_shared->launcher_latch = NULL;
	SpinLockRelease(&iai_shared->worker_lock);
}

void
iai_launcher_main(Datum main_arg)
{
	MemoryContext cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* no database: pg_database is a shared catalog */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	SpinLockAcquire(&iai_shared->worker_lock);
	iai_shared->launcher_pid = MyProcPid;
	iai_shared->launcher_latch = MyLatch;
	/* workers of an earlier launcher are gone with it or will exit */
	for (int i = 0; i < IAI_MAX_DATABASES; i++)
		iai_shared->workers[i].in_use = false;
	SpinLockRelease(&iai_shared->worker_lock);
	before_shmem_exit(launcher_exit, (Datum) 0);

	cxt = AllocSetContextCreate(TopMemoryContext, "iai launcher",
								ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		old = MemoryContextSwitchTo(cxt);
		reconcile();
		MemoryContextSwitchTo(old);
		MemoryContextReset(cxt);
		pgstat_report_stat(true);

		/* a worker's exit (bgw_notify_pid) and a reload set the latch */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 POLL_MS, iai_wait_event(IAI_WAIT_QUEUE_IDLE));
		ResetLatch(MyLatch);
	}
}
