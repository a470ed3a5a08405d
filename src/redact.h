/*-------------------------------------------------------------------------
 *
 * redact.h
 *		Keep the credentials out of the server log.
 *
 *-------------------------------------------------------------------------
 */
#ifndef IAI_REDACT_H
#define IAI_REDACT_H

/* Install the emit_log_hook; call from _PG_init. */
extern void iai_install_redaction(void);

#endif							/* IAI_REDACT_H */
