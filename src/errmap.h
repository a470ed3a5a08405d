/*-------------------------------------------------------------------------
 *
 * errmap.h
 *		What an IAI error code means to PostgreSQL: SQLSTATE, hint, and
 *		whether it is worth retrying.
 *
 *-------------------------------------------------------------------------
 */
#ifndef IAI_ERRMAP_H
#define IAI_ERRMAP_H

typedef struct IaiErrorClass
{
	int			sqlstate;		/* MAKE_SQLSTATE value */
	const char *hint;			/* NULL when no remedy is known */
	bool		retryable;		/* transient: another attempt may succeed */
	bool		not_found;		/* "already gone": the person/map is absent */
	bool		ambiguous;		/* the request may still have taken effect */
	bool		outage;			/* not about the request: the service, the
								 * account or the credentials (the queue
								 * pauses instead of spending attempts) */
} IaiErrorClass;

extern IaiErrorClass iai_classify_error(const char *code);

#endif							/* IAI_ERRMAP_H */
