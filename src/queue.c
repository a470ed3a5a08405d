/*-------------------------------------------------------------------------
 *
 * queue.c
 *		After-commit mode, the SQL side: enqueueing into the outbox
 *		(iai_queue, an ordinary logged table) and waking the worker.
 *
 * An enqueue is a row inserted in the caller's transaction, so it commits
 * or rolls back with the deletes that caused it and survives crashes like
 * any other row.  The insert runs as the queue table's owner (as foreign
 * key checks do), so callers need no privilege on the table itself.  At
 * commit, a transaction that enqueued sets the worker's latch: no polling.
 *
 * Enqueueing where no worker serves the database is an error, never a
 * silent no-op.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "api.h"
#include "queue.h"
#include "settings.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(iai_enqueue_delete_person_from_group);
PG_FUNCTION_INFO_V1(iai_queue_wake);
PG_FUNCTION_INFO_V1(iai_worker_status);

/* Transaction-local: wake the worker at commit; warn once about it. */
static bool wake_at_commit = false;
static bool warned_this_xact = false;
static bool callback_registered = false;

/* The prepared INSERT, valid while the extension keeps its OID. */
static Oid	cached_ext_oid = InvalidOid;
static Oid	queue_owner = InvalidOid;
static SPIPlanPtr insert_plan = NULL;

static void
queue_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			if (wake_at_commit)
				iai_worker_wake();
			/* FALLTHROUGH */
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			wake_at_commit = false;
			warned_this_xact = false;
			break;
		default:
			break;
	}
}

static void
wake_worker_at_commit(void)
{
	if (!callback_registered)
	{
		RegisterXactCallback(queue_xact_callback, NULL);
		callback_registered = true;
	}
	wake_at_commit = true;
}

/* Refuse to enqueue what nobody would deliver. */
static void
require_worker(void)
{
	const char *db = get_database_name(MyDatabaseId);

	if (iai_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no iai background worker is configured, so queued calls would never be sent"),
				 errhint("Add iai to shared_preload_libraries and set iai.database_name = '%s' (both need a restart), or use the synchronous iai_delete_person_from_group().",
						 db)));
	if (strcmp(db, iai_database_name) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the iai background worker serves database \"%s\", not \"%s\"",
						iai_database_name, db),
				 errhint("Set iai.database_name = '%s' (needs a restart), or use the synchronous iai_delete_person_from_group().",
						 db)));
	if (iai_worker_pid() == 0 && !warned_this_xact)
	{
		ereport(WARNING,
				(errmsg("the iai background worker is not running"),
				 errdetail("The call is queued and will be sent once the worker runs again."),
				 errhint("See iai_queue_status and the server log.")));
		warned_this_xact = true;
	}
}

/* (Re)build the INSERT for the extension's current schema. */
static void
prepare_insert(Oid ext_oid)
{
	int			rc;
	char	   *schema;
	bool		isnull;
	Oid			argtypes[4] = {TEXTOID, JSONBOID, BOOLOID, NAMEOID};

	rc = SPI_execute("SELECT n.nspname, c.relowner"
					 " FROM pg_catalog.pg_extension e"
					 " JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
					 " JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid"
					 "  AND c.relname = 'iai_queue'"
					 " WHERE e.extname = 'iai'", true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the iai_queue table of extension iai is missing")));
	schema = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	queue_owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
												 SPI_tuptable->tupdesc, 2, &isnull));

	if (insert_plan != NULL)
	{
		SPI_freeplan(insert_plan);
		insert_plan = NULL;
	}
	insert_plan = SPI_prepare(psprintf("INSERT INTO %s.iai_queue"
									   " (action, params, missing_ok, enqueued_by)"
									   " VALUES ($1, $2, $3, $4) RETURNING id",
									   quote_identifier(schema)),
							  4, argtypes);
	if (insert_plan == NULL)
		elog(ERROR, "could not prepare the iai_queue insert: %s",
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(insert_plan);
	cached_ext_oid = ext_oid;
}

int64
iai_enqueue(const char *action, Jsonb *params, bool missing_ok)
{
	Oid			ext_oid;
	Oid			save_userid;
	int			save_sec_context;
	Datum		values[4];
	bool		isnull;
	int64		id;
	int			rc;

	require_worker();
	ext_oid = get_extension_oid("iai", false);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (insert_plan == NULL || ext_oid != cached_ext_oid)
		prepare_insert(ext_oid);

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	values[0] = CStringGetTextDatum(action);
	values[1] = JsonbPGetDatum(params);
	values[2] = BoolGetDatum(missing_ok);
	values[3] = DirectFunctionCall1(namein,
									CStringGetDatum(GetUserNameFromId(save_userid, false)));

	SetUserIdAndSecContext(queue_owner,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	rc = SPI_execute_plan(insert_plan, values, NULL, false, 1);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not insert into iai_queue: %s", SPI_result_code_string(rc));
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();

	wake_worker_at_commit();
	return id;
}

/* iai_enqueue_delete_person_from_group(person text, grp text) RETURNS bigint */
Datum
iai_enqueue_delete_person_from_group(PG_FUNCTION_ARGS)
{
	char	   *person = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *group = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));

	PG_RETURN_INT64(iai_enqueue(IAI_ACTION_DELETE_PERSON_FROM_GROUP,
								iai_person_group_params(person, group), false));
}

/* iai_queue_wake(): wake the worker when this transaction commits. */
Datum
iai_queue_wake(PG_FUNCTION_ARGS)
{
	wake_worker_at_commit();
	PG_RETURN_VOID();
}

/* iai_worker_status(): one row about the worker, for iai_queue_status. */
Datum
iai_worker_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {false};
	int			pid = iai_worker_pid();

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	values[0] = BoolGetDatum(iai_shared != NULL);
	values[1] = Int32GetDatum(pid);
	nulls[1] = (pid == 0);
	values[2] = CStringGetTextDatum(iai_database_name);
	nulls[2] = (iai_shared == NULL);
	nulls[3] = nulls[4] = true;
	if (iai_shared != NULL)
	{
		TimestampTz started,
					heartbeat;

		SpinLockAcquire(&iai_shared->worker_lock);
		started = iai_shared->worker_started;
		heartbeat = iai_shared->worker_heartbeat;
		SpinLockRelease(&iai_shared->worker_lock);
		values[3] = TimestampTzGetDatum(started);
		nulls[3] = (started == 0);
		values[4] = TimestampTzGetDatum(heartbeat);
		nulls[4] = (heartbeat == 0);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
