/*-------------------------------------------------------------------------
 *
 * queue.c
 *		After-commit mode, the SQL side: enqueueing into the outbox
 *		(iai_queue, an ordinary logged table) and waking the worker.
 *
 * An enqueue becomes a row of iai_queue in the caller's transaction, so it
 * commits or rolls back with the deletes that caused it (savepoints
 * included) and survives crashes like any other row.  To keep a large
 * DELETE with an async trigger about as cheap as its INSERTs, calls are
 * collected in memory and written with one INSERT ... SELECT FROM unnest()
 * just before commit (or prepare), or earlier when many pile up within one
 * subtransaction; so they appear in iai_queue when the transaction
 * commits.  The insert is prepared and runs as the queue table's owner (as
 * foreign key checks do), so callers need no privilege on the table, its
 * sequence or the extension's schema; the owner is read afresh each time,
 * as REASSIGN OWNED may change it under a long-lived session.  At commit,
 * a transaction that enqueued sets the worker's latch: no polling.
 *
 * Enqueueing where no worker serves the database is an error, never a
 * silent no-op.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "api.h"
#include "compat.h"
#include "queue.h"
#include "settings.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(iai_enqueue_delete_person_from_group);
PG_FUNCTION_INFO_V1(iai_queue_wake);
PG_FUNCTION_INFO_V1(iai_worker_status);
PG_FUNCTION_INFO_V1(iai_worker_pause);

/* Write calls out early when this many belong to one subtransaction. */
#define FLUSH_AT 10000

/* A call waiting to be written to iai_queue. */
typedef struct PendingCall
{
	int			level;			/* transaction nesting level it belongs to */
	int64		id;				/* 0 when the sequence may assign it */
	char	   *action;
	Jsonb	   *params;
	bool		missing_ok;
	Oid			enqueued_by;
} PendingCall;

/* Transaction-local state, in TopTransactionContext. */
static PendingCall *pending = NULL;
static int	npending = 0;
static int	maxpending = 0;
static int *level_counts = NULL;	/* pending calls per nesting level */
static int	nlevels = 0;
static bool wake_at_commit = false;
static bool checked_this_xact = false;
static bool callbacks_registered = false;

/*
 * The extension's objects, looked up when the extension's OID or the
 * queue's schema changes; the plan names the schema.
 */
static Oid	cached_ext_oid = InvalidOid;
static Oid	queue_rel = InvalidOid;
static Oid	queue_nsp = InvalidOid;
static char *queue_nsp_name = NULL;
static Oid	queue_seq = InvalidOid;
static SPIPlanPtr insert_plan = NULL;

static void flush_pending(bool all);

static void
forget_pending(void)
{
	/* the memory goes with TopTransactionContext */
	pending = NULL;
	npending = maxpending = 0;
	level_counts = NULL;
	nlevels = 0;
	wake_at_commit = false;
	checked_this_xact = false;
}

static void
queue_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (npending > 0)
				flush_pending(true);
			break;
		case XACT_EVENT_COMMIT:
			if (wake_at_commit)
				iai_worker_wake();
			forget_pending();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			forget_pending();
			break;
		default:
			break;
	}
}

/* Calls of an aborted subtransaction vanish; a committed one's pass up. */
static void
queue_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	int			kept = 0;

	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	if (level < nlevels)
	{
		if (event == SUBXACT_EVENT_COMMIT_SUB)
			level_counts[level - 1] += level_counts[level];
		level_counts[level] = 0;
	}
	for (int i = 0; i < npending; i++)
	{
		if (pending[i].level < level)
			pending[kept++] = pending[i];
		else if (event == SUBXACT_EVENT_COMMIT_SUB)
		{
			pending[i].level = level - 1;
			pending[kept++] = pending[i];
		}
	}
	npending = kept;
}

static void
register_callbacks(void)
{
	if (!callbacks_registered)
	{
		RegisterXactCallback(queue_xact_callback, NULL);
		RegisterSubXactCallback(queue_subxact_callback, NULL);
		callbacks_registered = true;
	}
}

static void
wake_worker_at_commit(void)
{
	register_callbacks();
	wake_at_commit = true;
}

/* Refuse to enqueue what nobody would deliver; checked once a transaction. */
static void
require_worker(void)
{
	static char *db = NULL;
	IaiWorkerSlot worker;

	if (checked_this_xact)
		return;
	if (db == NULL)
		db = MemoryContextStrdup(TopMemoryContext, get_database_name(MyDatabaseId));

	if (iai_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot queue calls because iai is not preloaded"),
				 errdetail("Queued calls are sent by a background worker, which only a library in \"shared_preload_libraries\" can start."),
				 errhint("Add iai to \"shared_preload_libraries\", set \"iai.database_name\" = '%s' and restart the server, or use the synchronous iai_delete_person_from_group().",
						 db)));
	if (!iai_database_listed(db))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no iai background worker serves database \"%s\"", db),
				 errdetail("\"iai.database_name\" is \"%s\".", iai_database_name),
				 errhint("Add \"%s\" to \"iai.database_name\" and reload the configuration, or use the synchronous iai_delete_person_from_group().",
						 db)));
	if (!iai_worker_slot(MyDatabaseId, &worker) || worker.pid == 0)
		ereport(WARNING,
				(errmsg("the iai background worker is not running"),
				 errdetail("The call is queued and will be sent once the worker runs again."),
				 errhint("See iai_queue_status and the server log.")));
	register_callbacks();
	checked_this_xact = true;
}

/*
 * The queue table's current owner and schema, from the catalog cache; false
 * if the table is gone.
 */
static bool
queue_owner_and_schema(Oid *owner, Oid *nsp)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(queue_rel));

	if (!HeapTupleIsValid(tup))
		return false;
	*owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	*nsp = ((Form_pg_class) GETSTRUCT(tup))->relnamespace;
	ReleaseSysCache(tup);
	return true;
}

/*
 * Look up the queue table and its sequence, and prepare the INSERT as the
 * table's owner: naming the schema takes USAGE on it, which callers need
 * not have.  The catalogs are readable by everyone.
 */
static void
prepare_insert(Oid ext_oid)
{
	int			rc;
	char	   *schema;
	bool		isnull;
	Oid			owner;
	Oid			save_userid;
	int			save_sec_context;
	Oid			argtypes[5] = {INT8ARRAYOID, TEXTARRAYOID, JSONBARRAYOID,
	BOOLARRAYOID, TEXTARRAYOID};
	MemoryContext old;

	rc = SPI_execute("SELECT c.oid, s.oid"
					 " FROM pg_catalog.pg_extension e"
					 " JOIN pg_catalog.pg_class c ON c.relnamespace OPERATOR(pg_catalog.=) e.extnamespace"
					 "  AND c.relname OPERATOR(pg_catalog.=) 'iai_queue'"
					 " JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid"
					 "  AND a.attname OPERATOR(pg_catalog.=) 'id'"
					 " LEFT JOIN pg_catalog.pg_depend d"
					 "  ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
					 "  AND d.refobjid OPERATOR(pg_catalog.=) c.oid"
					 "  AND d.refobjsubid OPERATOR(pg_catalog.=) a.attnum"
					 "  AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
					 "  AND d.deptype OPERATOR(pg_catalog.=) 'a'"
					 " LEFT JOIN pg_catalog.pg_class s ON s.oid OPERATOR(pg_catalog.=) d.objid"
					 "  AND s.relkind OPERATOR(pg_catalog.=) 'S'"
					 " WHERE e.extname OPERATOR(pg_catalog.=) 'iai'", true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the iai_queue table of extension iai is missing")));
	queue_rel = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1, &isnull));
	queue_seq = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 2, &isnull));
	if (isnull || !queue_owner_and_schema(&owner, &queue_nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the iai_queue table of extension iai is missing")));
	schema = get_namespace_name(queue_nsp);
	old = MemoryContextSwitchTo(TopMemoryContext);
	if (queue_nsp_name)
		pfree(queue_nsp_name);
	queue_nsp_name = pstrdup(schema);
	MemoryContextSwitchTo(old);

	if (insert_plan != NULL)
	{
		SPI_freeplan(insert_plan);
		insert_plan = NULL;
	}
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	insert_plan = SPI_prepare(psprintf("INSERT INTO %1$s.iai_queue"
									   " (id, action, params, missing_ok, enqueued_by)"
									   " SELECT coalesce(u.id, pg_catalog.nextval(%2$s)),"
									   "  u.action, u.params, u.missing_ok, u.enqueued_by"
									   " FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
									   "  pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5))"
									   "  AS u(id, action, params, missing_ok, enqueued_by)",
									   quote_identifier(schema),
									   quote_literal_cstr(psprintf("%u", queue_seq))),
							  5, argtypes);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (insert_plan == NULL)
		elog(ERROR, "could not prepare the iai_queue insert: %s",
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(insert_plan);
	cached_ext_oid = ext_oid;
}

/*
 * Make sure the cached lookups describe the installed extension and where
 * its queue is now; return the queue's current owner.
 */
static Oid
lookup_queue(void)
{
	Oid			ext_oid = get_extension_oid("iai", false);
	Oid			owner = InvalidOid;
	Oid			nsp = InvalidOid;
	char	   *nspname;

	if (insert_plan != NULL && ext_oid == cached_ext_oid &&
		queue_owner_and_schema(&owner, &nsp) && nsp == queue_nsp &&
		(nspname = get_namespace_name(nsp)) != NULL &&
		strcmp(nspname, queue_nsp_name) == 0)
		return owner;
	{
		bool		pushed_snapshot = !ActiveSnapshotSet();
		int			nestlevel;

		if (pushed_snapshot)
			PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "could not connect to SPI manager");
		nestlevel = iai_pin_search_path();
		prepare_insert(ext_oid);
		AtEOXact_GUC(true, nestlevel);
		SPI_finish();
		if (pushed_snapshot)
			PopActiveSnapshot();
	}
	if (!queue_owner_and_schema(&owner, &nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the iai_queue table of extension iai is missing")));
	return owner;
}

/*
 * Write the pending calls of this subtransaction (all of them, at commit)
 * with one INSERT, as the queue's owner.
 */
static void
flush_pending(bool all)
{
	int			level = GetCurrentTransactionNestLevel();
	int			n = 0;
	Datum	   *ids,
			   *actions,
			   *params,
			   *missing,
			   *users;
	bool	   *id_nulls;
	Datum		values[5];
	int			dims[1];
	int			lbs[1] = {1};
	Oid			last_user = InvalidOid;
	Datum		last_name = (Datum) 0;
	Oid			save_userid;
	int			save_sec_context;
	int			rc;
	int			kept = 0;
	bool		pushed_snapshot;
	int			nestlevel;
	Oid			queue_owner;

	queue_owner = lookup_queue();
	ids = palloc(sizeof(Datum) * npending);
	id_nulls = palloc(sizeof(bool) * npending);
	actions = palloc(sizeof(Datum) * npending);
	params = palloc(sizeof(Datum) * npending);
	missing = palloc(sizeof(Datum) * npending);
	users = palloc(sizeof(Datum) * npending);
	for (int i = 0; i < npending; i++)
	{
		PendingCall *c = &pending[i];

		if (!all && c->level != level)
		{
			pending[kept++] = *c;
			continue;
		}
		/* NULL: the sequence assigns it */
		ids[n] = Int64GetDatum(c->id);
		id_nulls[n] = (c->id == 0);
		actions[n] = CStringGetTextDatum(c->action);
		params[n] = JsonbPGetDatum(c->params);
		missing[n] = BoolGetDatum(c->missing_ok);
		if (c->enqueued_by != last_user)
		{
			last_user = c->enqueued_by;
			last_name = CStringGetTextDatum(GetUserNameFromId(last_user, false));
		}
		users[n] = last_name;
		n++;
	}
	npending = kept;
	if (level < nlevels)
		level_counts[level] = 0;
	if (all)
		memset(level_counts, 0, sizeof(int) * nlevels);
	if (n == 0)
		return;

	dims[0] = n;
	values[0] = PointerGetDatum(construct_md_array(ids, id_nulls, 1, dims, lbs, INT8OID,
												   8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = PointerGetDatum(construct_array(actions, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_array(params, n, JSONBOID, -1, false, TYPALIGN_INT));
	values[3] = PointerGetDatum(construct_array(missing, n, BOOLOID, 1, true, TYPALIGN_CHAR));
	values[4] = PointerGetDatum(construct_array(users, n, TEXTOID, -1, false, TYPALIGN_INT));
	/* at commit no statement is running: give the INSERT a snapshot */
	pushed_snapshot = !ActiveSnapshotSet();
	if (pushed_snapshot)
		PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "could not connect to SPI manager");
	/* as the owner, and with nothing of the caller's search_path in reach */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(queue_owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	nestlevel = iai_pin_search_path();
	rc = SPI_execute_plan(insert_plan, values, NULL, false, 0);
	AtEOXact_GUC(true, nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (rc != SPI_OK_INSERT || SPI_processed != (uint64) n)
		elog(ERROR, "could not insert into iai_queue: %s", SPI_result_code_string(rc));
	SPI_finish();
	if (pushed_snapshot)
		PopActiveSnapshot();
}

int64
iai_enqueue(const char *action, Jsonb *params, bool missing_ok, bool want_id)
{
	MemoryContext old;
	PendingCall *c;
	int64		id = 0;

	require_worker();
	if (want_id)
	{
		(void) lookup_queue();
		/* the caller acts through this function, not on the sequence */
		id = nextval_internal(queue_seq, false);
	}

	old = MemoryContextSwitchTo(TopTransactionContext);
	if (npending == maxpending)
	{
		maxpending = maxpending ? maxpending * 2 : 64;
		pending = pending ? repalloc(pending, sizeof(PendingCall) * maxpending)
			: palloc(sizeof(PendingCall) * maxpending);
	}
	c = &pending[npending++];
	c->level = GetCurrentTransactionNestLevel();
	c->id = id;
	c->action = pstrdup(action);
	c->params = palloc(VARSIZE(params));
	memcpy(c->params, params, VARSIZE(params));
	c->missing_ok = missing_ok;
	c->enqueued_by = GetUserId();
	if (c->level >= nlevels)
	{
		int			grown = Max(c->level + 1, 8);

		level_counts = level_counts ? repalloc(level_counts, sizeof(int) * grown)
			: palloc(sizeof(int) * grown);
		memset(level_counts + nlevels, 0, sizeof(int) * (grown - nlevels));
		nlevels = grown;
	}
	level_counts[c->level]++;
	MemoryContextSwitchTo(old);

	wake_worker_at_commit();
	/* only this level's calls can be written now; the rest wait for commit */
	if (level_counts[c->level] >= FLUSH_AT)
		flush_pending(false);
	return id;
}

/* iai_enqueue_delete_person_from_group(person text, grp text) RETURNS bigint */
Datum
iai_enqueue_delete_person_from_group(PG_FUNCTION_ARGS)
{
	char	   *person = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *group = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));

	PG_RETURN_INT64(iai_enqueue(IAI_ACTION_DELETE_PERSON_FROM_GROUP,
								iai_person_group_params(person, group), false, true));
}

/* iai_queue_wake(): wake the worker when this transaction commits. */
Datum
iai_queue_wake(PG_FUNCTION_ARGS)
{
	wake_worker_at_commit();
	PG_RETURN_VOID();
}

/* iai_worker_status(): one row about the worker of this database. */
Datum
iai_worker_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5];
	IaiWorkerSlot w;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	memset(nulls, true, sizeof(nulls));
	values[0] = BoolGetDatum(iai_shared != NULL);
	nulls[0] = false;
	if (iai_worker_slot(MyDatabaseId, &w))
	{
		values[1] = Int32GetDatum(w.pid);
		nulls[1] = (w.pid == 0);
		values[2] = CStringGetTextDatum(w.dbname);
		nulls[2] = false;
		values[3] = TimestampTzGetDatum(w.started);
		nulls[3] = (w.started == 0);
		values[4] = TimestampTzGetDatum(w.heartbeat);
		nulls[4] = (w.heartbeat == 0);
	}
	else if (iai_shared != NULL && iai_database_listed(get_database_name(MyDatabaseId)))
	{
		/* listed, but the launcher has not got to it yet */
		values[2] = CStringGetTextDatum(get_database_name(MyDatabaseId));
		nulls[2] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * iai_worker_pause(): whether this database's worker has paused delivery
 * for an outage: since when, why, and when it probes next (NULLs while it
 * delivers).
 */
Datum
iai_worker_pause(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {true, true, true};
	IaiWorkerSlot w;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (iai_worker_slot(MyDatabaseId, &w) && w.pid != 0 && w.paused_since != 0)
	{
		values[0] = TimestampTzGetDatum(w.paused_since);
		values[1] = CStringGetTextDatum(w.pause_reason);
		values[2] = TimestampTzGetDatum(w.next_probe_at);
		nulls[0] = nulls[1] = nulls[2] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
