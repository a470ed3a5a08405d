/*-------------------------------------------------------------------------
 *
 * trigger.c
 *		iai_delete_person_trigger(): remove the person of a deleted (or
 *		updated) row from a person group.
 *
 *	CREATE TRIGGER ... AFTER DELETE ON employees FOR EACH ROW
 *		EXECUTE FUNCTION iai_delete_person_trigger('employee_id', 'GroupId'
 *													[, option ...]);
 *
 * Argument 1 names the column holding the PersonId (any type, rendered by
 * its output function).  Argument 2 is the GroupId, or "column=<name>" to
 * read it from the row.  Options: "missing_ok" (the person already being
 * absent from the group is success) and "async" (queue the call, to be
 * sent by the background worker after commit, instead of calling now).  On UPDATE the OLD row is used, so
 * WHEN conditions can express transfers between groups and soft deletes.
 * A failed call raises, aborting the statement, so the row stays.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/rel.h"

#include "api.h"
#include "queue.h"

PG_FUNCTION_INFO_V1(iai_delete_person_trigger);

#define GROUP_COLUMN_PREFIX "column="

typedef struct TriggerOptions
{
	const char *person_column;
	const char *group_column;	/* NULL when the group is a literal */
	const char *group;
	int			flags;
	bool		async;
} TriggerOptions;

static void
trigger_context(void *arg)
{
	TriggerData *td = (TriggerData *) arg;

	errcontext("trigger \"%s\" on table \"%s\"",
			   td->tg_trigger->tgname, RelationGetRelationName(td->tg_relation));
}

static void
check_firing(FunctionCallInfo fcinfo)
{
	TriggerData *td;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("iai_delete_person_trigger() was not called by the trigger manager"),
				 errhint("Use iai_delete_person_from_group() to call the API directly.")));
	td = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!(TRIGGER_FIRED_BY_DELETE(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("iai_delete_person_trigger() must be fired AFTER DELETE or AFTER UPDATE, FOR EACH ROW"),
				 errdetail("Trigger \"%s\" on table \"%s\" is not.",
						   td->tg_trigger->tgname, RelationGetRelationName(td->tg_relation))));
}

static TriggerOptions
parse_arguments(Trigger *tg)
{
	TriggerOptions o = {0};

	if (tg->tgnargs < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("iai_delete_person_trigger() needs at least 2 arguments, trigger \"%s\" has %d",
						tg->tgname, tg->tgnargs),
				 errhint("Write iai_delete_person_trigger('person_id_column', 'GroupId'), or 'column=group_column' as the second argument.")));
	o.person_column = tg->tgargs[0];
	if (strncmp(tg->tgargs[1], GROUP_COLUMN_PREFIX, strlen(GROUP_COLUMN_PREFIX)) == 0)
		o.group_column = tg->tgargs[1] + strlen(GROUP_COLUMN_PREFIX);
	else
		o.group = tg->tgargs[1];

	for (int i = 2; i < tg->tgnargs; i++)
	{
		if (strcmp(tg->tgargs[i], "missing_ok") == 0)
			o.flags |= IAI_MISSING_OK;
		else if (strcmp(tg->tgargs[i], "async") == 0)
			o.async = true;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized option \"%s\" in trigger \"%s\"", tg->tgargs[i], tg->tgname),
					 errhint("Valid options are: missing_ok, async.")));
	}
	return o;
}

/* The column's value as text, or NULL; raises if there is no such column. */
static char *
column_text(TriggerData *td, HeapTuple tuple, const char *column, const char *param)
{
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	int			attnum = SPI_fnumber(desc, column);
	char	   *value;

	if (attnum == SPI_ERROR_NOATTRIBUTE || attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						column, RelationGetRelationName(td->tg_relation)),
				 errdetail("Trigger \"%s\" reads the %s from it.", td->tg_trigger->tgname, param)));
	value = SPI_getvalue(tuple, desc, attnum);
	if (value == NULL)
		iai_input_error("MissingParameter",
						psprintf("%s is NULL in column \"%s\" of the row", param, column),
						NULL);
	return value;
}

Datum
iai_delete_person_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td;
	TriggerOptions o;
	HeapTuple	old_row;
	char	   *person;
	const char *group;
	Jsonb	   *params;
	IaiResult	result;
	ErrorContextCallback errcb;

	check_firing(fcinfo);
	td = (TriggerData *) fcinfo->context;

	errcb.callback = trigger_context;
	errcb.arg = td;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	o = parse_arguments(td->tg_trigger);
	/* for DELETE and UPDATE alike, tg_trigtuple is the OLD row */
	old_row = td->tg_trigtuple;
	person = column_text(td, old_row, o.person_column, "PersonId");
	group = o.group_column ? column_text(td, old_row, o.group_column, "GroupId") : o.group;

	params = iai_person_group_params(person, group);
	if (o.async)
		(void) iai_enqueue(IAI_ACTION_DELETE_PERSON_FROM_GROUP, params,
						   (o.flags & IAI_MISSING_OK) != 0, false);
	else
		iai_api_call(IAI_ACTION_DELETE_PERSON_FROM_GROUP, params,
					 o.flags | IAI_PARAMS_CHECKED, &result);

	error_context_stack = errcb.previous;
	return PointerGetDatum(NULL);
}
