/*-------------------------------------------------------------------------
 *
 * compat.h
 *		What older supported PostgreSQL versions lack.
 *
 *-------------------------------------------------------------------------
 */
#ifndef IAI_COMPAT_H
#define IAI_COMPAT_H

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/tuplestore.h"

/*
 * Run what follows with search_path = pg_catalog, pg_temp, whatever the
 * caller's is; undo with AtEOXact_GUC(true, level).  For SQL the extension
 * runs with more privileges than its caller (as the queue's owner, or in
 * the worker), so that no look-alike function or operator can be slipped in.
 */
static inline int
iai_pin_search_path(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/* GUC string values and "extra" data: malloc'd before 16, GUC memory since. */
#if PG_VERSION_NUM >= 160000
#define iai_guc_malloc(size) guc_malloc(LOG, (size))
#define iai_guc_strdup(s) guc_strdup(LOG, (s))
#define iai_guc_free(p) guc_free(p)
#else
#define iai_guc_malloc(size) malloc(size)
#define iai_guc_strdup(s) strdup(s)
#define iai_guc_free(p) free(p)
#endif

/*
 * PostgreSQL 18 marks functions that do not return with a prefix
 * (pg_noreturn) and dropped the postfix pg_attribute_noreturn().
 */
#ifndef pg_noreturn
#if defined(__GNUC__) || defined(__SUNPRO_C)
#define pg_noreturn __attribute__((noreturn))
#else
#define pg_noreturn
#endif
#endif

#if PG_VERSION_NUM < 150001
/* The set-returning function setup PostgreSQL 15.1 made a library call. */
static inline void
InitMaterializedSRF(FunctionCallInfo fcinfo, bits32 flags)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	tupdesc;
	MemoryContext old;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->setDesc = CreateTupleDescCopy(tupdesc);
	MemoryContextSwitchTo(old);
}
#endif

#endif							/* IAI_COMPAT_H */
