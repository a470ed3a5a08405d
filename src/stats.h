/*-------------------------------------------------------------------------
 *
 * stats.h
 *		What the calls did: counters per action (iai_stats), one log line
 *		per call (iai.log_requests) and wait event names.
 *
 *-------------------------------------------------------------------------
 */
#ifndef IAI_STATS_H
#define IAI_STATS_H

#include "storage/lwlock.h"

/* What one HTTP request of a call came to. */
typedef enum IaiRequestOutcome
{
	IAI_REQ_OK,					/* a Response without Error */
	IAI_REQ_API_ERROR,			/* a Response with Error (code given) */
	IAI_REQ_TRANSPORT			/* no usable answer */
} IaiRequestOutcome;

/* Where a backend waits, for pg_stat_activity.wait_event. */
typedef enum IaiWait
{
	IAI_WAIT_HTTP,				/* a request in flight */
	IAI_WAIT_THROTTLE,			/* for a rate-limit slot or a retry */
	IAI_WAIT_QUEUE_IDLE			/* the worker, with nothing to send */
} IaiWait;

extern Size iai_stats_shmem_size(void);
extern void iai_stats_shmem_init(void *area, bool found);
extern void iai_stats_request_lwlocks(void);

/* A finished call, as counted and logged. */
typedef struct IaiCallReport
{
	const char *action;
	const char *person;			/* NULL when the action has none */
	const char *group;
	bool		success;
	const char *outcome;		/* "OK", an API code, or what went wrong */
	const char *request_id;		/* NULL without an answer */
	int			attempts;
	double		elapsed_ms;
} IaiCallReport;

extern int	iai_log_requests;	/* IAI_LOG_* */

#define IAI_LOG_OFF 0
#define IAI_LOG_ERRORS 1
#define IAI_LOG_ALL 2

/*
 * One request of a call: attempt is 1 for the first; code is the API code
 * for IAI_REQ_API_ERROR.
 */
extern void iai_stats_request(const char *action, int attempt,
							  IaiRequestOutcome outcome, const char *code,
							  int64 throttle_wait_ns);

/* A call's end: counted, and logged as iai.log_requests says. */
extern void iai_stats_call(const IaiCallReport *report);

extern uint32 iai_wait_event(IaiWait which);

#endif							/* IAI_STATS_H */
