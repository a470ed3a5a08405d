/*-------------------------------------------------------------------------
 *
 * stats.c
 *		What the calls did: counters per action in shared memory (the
 *		iai_stats view, in the spirit of pg_stat_statements), one log line
 *		per call (iai.log_requests), and wait event names.
 *
 * Counters live in shared memory and so need iai in
 * shared_preload_libraries; they cover every backend and the queue
 * worker.  Up to MAX_ACTIONS actions and MAX_CODES API codes per action
 * are told apart; beyond that they are summed under "(other)".  Nothing
 * here ever sees a credential, a token or a signature.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#if PG_VERSION_NUM >= 140000
#include "utils/wait_event.h"
#endif

#include "compat.h"
#include "shmem.h"
#include "stats.h"

PG_FUNCTION_INFO_V1(iai_stats);
PG_FUNCTION_INFO_V1(iai_stats_reset);

#define MAX_ACTIONS 16
#define MAX_CODES 32
#define NAME_LEN 80				/* room for any action (64) or API code */
#define OTHER "(other)"
#define STATS_COLUMNS 17

int			iai_log_requests = IAI_LOG_OFF;

typedef struct CodeCount
{
	char		code[NAME_LEN];
	int64		count;
} CodeCount;

typedef struct ActionStats
{
	char		action[NAME_LEN];
	int64		calls;
	int64		successes;
	int64		failures;
	int64		requests;
	int64		retries;
	int64		api_errors;
	int64		transport_errors;
	int64		throttle_waits;
	double		throttle_wait_ms;
	double		total_ms;
	double		max_ms;
	int			ncodes;
	CodeCount	codes[MAX_CODES];
	char		last_error[256];
	char		last_request_id[NAME_LEN];
	TimestampTz last_error_at;
} ActionStats;

typedef struct StatsArea
{
	LWLock	   *lock;
	TimestampTz reset_at;
	int			nactions;
	ActionStats actions[MAX_ACTIONS];
} StatsArea;

static StatsArea *stats = NULL;

/* ---- shared memory ---- */

Size
iai_stats_shmem_size(void)
{
	return MAXALIGN(sizeof(StatsArea));
}

void
iai_stats_request_lwlocks(void)
{
	RequestNamedLWLockTranche("iai", 1);
}

void
iai_stats_shmem_init(void *area, bool found)
{
	stats = (StatsArea *) area;
	if (!found)
	{
		memset(stats, 0, sizeof(StatsArea));
		stats->lock = &(GetNamedLWLockTranche("iai"))->lock;
		stats->reset_at = GetCurrentTimestamp();
	}
}

static void
copy_name(char *dst, const char *src, size_t size)
{
	strlcpy(dst, src ? src : "", size);
}

/* The entry for an action; caller holds the lock exclusively. */
static ActionStats *
entry_for(const char *action)
{
	for (int i = 0; i < stats->nactions; i++)
		if (strcmp(stats->actions[i].action, action) == 0)
			return &stats->actions[i];
	if (stats->nactions < MAX_ACTIONS - 1 || strcmp(action, OTHER) == 0)
	{
		ActionStats *e = &stats->actions[stats->nactions++];

		memset(e, 0, sizeof(*e));
		copy_name(e->action, action, NAME_LEN);
		return e;
	}
	return entry_for(OTHER);
}

static void
count_code(ActionStats *e, const char *code)
{
	int			i;

	for (i = 0; i < e->ncodes; i++)
		if (strcmp(e->codes[i].code, code) == 0)
			break;
	if (i == e->ncodes)
	{
		if (e->ncodes < MAX_CODES - 1)
			e->ncodes++;
		else
		{
			code = OTHER;
			for (i = 0; i < e->ncodes - 1 && strcmp(e->codes[i].code, OTHER) != 0; i++)
				;
			if (strcmp(e->codes[i].code, OTHER) != 0)
				i = e->ncodes++;
		}
		copy_name(e->codes[i].code, code, NAME_LEN);
	}
	e->codes[i].count++;
}

/* ---- counting ---- */

void
iai_stats_request(const char *action, int attempt, IaiRequestOutcome outcome,
				  const char *code, int64 throttle_wait_ns)
{
	ActionStats *e;

	if (stats == NULL)
		return;
	LWLockAcquire(stats->lock, LW_EXCLUSIVE);
	e = entry_for(action);
	e->requests++;
	if (attempt > 1)
		e->retries++;
	if (outcome == IAI_REQ_API_ERROR)
	{
		e->api_errors++;
		count_code(e, code);
	}
	else if (outcome == IAI_REQ_TRANSPORT)
		e->transport_errors++;
	if (throttle_wait_ns > 0)
	{
		e->throttle_waits++;
		e->throttle_wait_ms += throttle_wait_ns / 1000000.0;
	}
	LWLockRelease(stats->lock);
}

static void
log_call(const IaiCallReport *r)
{
	StringInfoData ids;

	initStringInfo(&ids);
	if (r->person)
		appendStringInfo(&ids, " PersonId=%s", r->person);
	if (r->group)
		appendStringInfo(&ids, " GroupId=%s", r->group);
	ereport(LOG,
			(errmsg_plural("iai: %s%s -> %s, RequestId %s, %d attempt, %.3f ms",
						   "iai: %s%s -> %s, RequestId %s, %d attempts, %.3f ms",
						   (unsigned long) r->attempts,
						   r->action, ids.data, r->outcome,
						   r->request_id ? r->request_id : "none",
						   r->attempts, r->elapsed_ms),
			 errhidestmt(true),
			 errhidecontext(true)));
}

void
iai_stats_call(const IaiCallReport *r)
{
	if (iai_log_requests == IAI_LOG_ALL ||
		(iai_log_requests == IAI_LOG_ERRORS && !r->success))
		log_call(r);

	if (stats != NULL)
	{
		ActionStats *e;

		LWLockAcquire(stats->lock, LW_EXCLUSIVE);
		e = entry_for(r->action);
		e->calls++;
		if (r->success)
			e->successes++;
		else
		{
			e->failures++;
			copy_name(e->last_error, r->outcome, sizeof(e->last_error));
			copy_name(e->last_request_id, r->request_id, NAME_LEN);
			e->last_error_at = GetCurrentTimestamp();
		}
		e->total_ms += r->elapsed_ms;
		e->max_ms = Max(e->max_ms, r->elapsed_ms);
		LWLockRelease(stats->lock);
	}
}

/* ---- wait events ---- */

uint32
iai_wait_event(IaiWait which)
{
#if PG_VERSION_NUM >= 170000
	static uint32 events[3];
	static const char *const names[3] = {"IaiHttp", "IaiThrottle", "IaiQueueIdle"};

	if (events[which] == 0)
		events[which] = WaitEventExtensionNew(names[which]);
	return events[which];
#else
	/* before PostgreSQL 17 an extension has a single wait event, "Extension" */
	return PG_WAIT_EXTENSION;
#endif
}

/* ---- SQL ---- */


static void
require_stats(void)
{
	if (stats == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("iai_stats is not available because iai is not preloaded"),
				 errdetail("The counters live in shared memory, which only a library loaded at server start can have."),
				 errhint("Add iai to \"shared_preload_libraries\" and restart the server.")));
}

static Datum
codes_jsonb(const ActionStats *e)
{
	JsonbParseState *state = NULL;
	JsonbValue	k,
				v;
	JsonbValue *res;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < e->ncodes; i++)
	{
		k.type = jbvString;
		k.val.string.val = (char *) e->codes[i].code;
		k.val.string.len = strlen(e->codes[i].code);
		v.type = jbvNumeric;
		v.val.numeric = DatumGetNumeric(DirectFunctionCall1(int8_numeric,
															Int64GetDatum(e->codes[i].count)));
		pushJsonbValue(&state, WJB_KEY, &k);
		pushJsonbValue(&state, WJB_VALUE, &v);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(res));
}

/* iai_stats(): one row per action. */
Datum
iai_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ActionStats *copy;
	int			n;
	TimestampTz reset_at;

	require_stats();
	InitMaterializedSRF(fcinfo, 0);

	/* copy out under the lock, build tuples without it */
	LWLockAcquire(stats->lock, LW_SHARED);
	n = stats->nactions;
	copy = palloc(sizeof(ActionStats) * Max(n, 1));
	memcpy(copy, stats->actions, sizeof(ActionStats) * n);
	reset_at = stats->reset_at;
	LWLockRelease(stats->lock);

	for (int i = 0; i < n; i++)
	{
		ActionStats *e = &copy[i];
		Datum		values[STATS_COLUMNS];
		bool		nulls[STATS_COLUMNS] = {false};
		int			c = 0;

		values[c++] = CStringGetTextDatum(e->action);
		values[c++] = Int64GetDatum(e->calls);
		values[c++] = Int64GetDatum(e->successes);
		values[c++] = Int64GetDatum(e->failures);
		values[c++] = Int64GetDatum(e->requests);
		values[c++] = Int64GetDatum(e->retries);
		values[c++] = Int64GetDatum(e->api_errors);
		values[c++] = codes_jsonb(e);
		values[c++] = Int64GetDatum(e->transport_errors);
		values[c++] = Int64GetDatum(e->throttle_waits);
		values[c++] = Float8GetDatum(e->throttle_wait_ms);
		values[c++] = Float8GetDatum(e->total_ms);
		values[c++] = Float8GetDatum(e->max_ms);
		nulls[c] = (e->last_error_at == 0);
		values[c++] = CStringGetTextDatum(e->last_error);
		nulls[c] = (e->last_error_at == 0 || e->last_request_id[0] == '\0');
		values[c++] = CStringGetTextDatum(e->last_request_id);
		nulls[c] = (e->last_error_at == 0);
		values[c++] = TimestampTzGetDatum(e->last_error_at);
		values[c++] = TimestampTzGetDatum(reset_at);
		Assert(c == STATS_COLUMNS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* iai_stats_reset(): forget every counter. */
Datum
iai_stats_reset(PG_FUNCTION_ARGS)
{
	require_stats();
	LWLockAcquire(stats->lock, LW_EXCLUSIVE);
	stats->nactions = 0;
	memset(stats->actions, 0, sizeof(stats->actions));
	stats->reset_at = GetCurrentTimestamp();
	LWLockRelease(stats->lock);
	PG_RETURN_VOID();
}
