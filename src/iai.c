/*-------------------------------------------------------------------------
 *
 * iai.c
 *		Module load and the SQL-callable functions.
 *
 * iai_call() is the one signed-call entry point; the typed wrappers only
 * build its parameters and pick out what the caller wants back.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include <time.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/varlena.h"
#include "utils/jsonb.h"

#include "api.h"
#include "compat.h"
#include "queue.h"
#include "redact.h"
#include "settings.h"
#include "shmem.h"

PG_MODULE_MAGIC;

#if PG_VERSION_NUM < 160000
void		_PG_init(void);
#endif

PG_FUNCTION_INFO_V1(iai_call);
PG_FUNCTION_INFO_V1(iai_delete_person_from_group);
PG_FUNCTION_INFO_V1(iai_debug_request);

/*
 * Whether a *_preload_libraries setting names this library: then every
 * session of its scope loads it before running any query.
 */
static bool
preloaded_by(const char *setting)
{
	const char *value = GetConfigOption(setting, true, false);
	char	   *raw;
	List	   *names;
	ListCell   *lc;
	bool		found = false;

	if (value == NULL || value[0] == '\0')
		return false;
	raw = pstrdup(value);
	if (!SplitDirectoriesString(raw, ',', &names))
		return false;
	foreach(lc, names)
	{
		char	   *name = lfirst(lc);
		char	   *sep = last_dir_separator(name);
		char	   *base = sep ? sep + 1 : name;

		if (strcmp(base, "iai") == 0 || strcmp(base, "iai" DLSUFFIX) == 0)
			found = true;
	}
	return found;
}

void
_PG_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not initialise libcurl")));
	iai_loaded_at_start = process_shared_preload_libraries_in_progress ||
		preloaded_by("session_preload_libraries") ||
		preloaded_by("local_preload_libraries");
	iai_define_settings();
	iai_install_redaction();
	if (process_shared_preload_libraries_in_progress)
	{
		iai_shmem_install_hooks();
		iai_register_launcher();
	}
}

/* iai_call(action text, params jsonb) RETURNS jsonb: the Response object. */
Datum
iai_call(PG_FUNCTION_ARGS)
{
	char	   *action;
	Jsonb	   *params;
	IaiResult	result;

	if (PG_ARGISNULL(0))
		iai_input_error("MissingParameter", "action is required", NULL);
	action = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (PG_ARGISNULL(1))
		params = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	else
		params = PG_GETARG_JSONB_P(1);

	iai_api_call(action, params, IAI_WANT_RESPONSE, &result);
	PG_RETURN_JSONB_P(result.response);
}

/* iai_delete_person_from_group(person text, grp text) RETURNS text: the RequestId. */
Datum
iai_delete_person_from_group(PG_FUNCTION_ARGS)
{
	char	   *person = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *group = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	IaiResult	result;

	iai_api_call(IAI_ACTION_DELETE_PERSON_FROM_GROUP,
				 iai_person_group_params(person, group), IAI_PARAMS_CHECKED,
				 &result);
	PG_RETURN_TEXT_P(cstring_to_text(result.request_id));
}

/*
 * iai_debug_request(action text, params jsonb, at bigint) RETURNS TABLE
 * (item text, value text): what a call would send, for comparing with
 * another client when the service answers AuthFailure.SignatureFailure.
 * Superusers only; never shows the secret key, a token or a derived key.
 */
Datum
iai_debug_request(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *action;
	Jsonb	   *params;
	int64		at;
	ListCell   *lc;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only superusers may see how requests are signed")));
	if (PG_ARGISNULL(0))
		iai_input_error("MissingParameter", "action is required", NULL);
	action = text_to_cstring(PG_GETARG_TEXT_PP(0));
	params = PG_ARGISNULL(1) ?
		DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"))) :
		PG_GETARG_JSONB_P(1);
	at = PG_ARGISNULL(2) ? (int64) time(NULL) : PG_GETARG_INT64(2);

	InitMaterializedSRF(fcinfo, 0);
	foreach(lc, iai_describe_request(action, params, at))
	{
		IaiDescribeLine *l = lfirst(lc);
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(l->item);
		values[1] = CStringGetTextDatum(l->value);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
