/*-------------------------------------------------------------------------
 *
 * redact.c
 *		Keep the credentials out of the server log, whoever writes the
 *		message.
 *
 * The extension itself never puts a secret in a message.  PostgreSQL does:
 * on reload it logs a changed setting's new value ("parameter
 * "iai.secret_key" changed to ..."), and statement logging writes SET and
 * ALTER SYSTEM text as typed.  This emit_log_hook (in every process that
 * loaded the library, the postmaster included when preloaded) rewrites each
 * message before it is written: the current values of the credential
 * settings, and the temporary key and token this process last used (from
 * a CVM role or TKE workload identity), 6 characters or more, are masked
 * wherever they appear; where a credential setting's name, quoted or not,
 * is followed by what assigns or reports a value ("= ...", "TO ...", ", ..."
 * as in set_config, "changed to ...", ": ..."), blanks and comments aside,
 * the rest of the message is masked; the user information of any URL
 * ("https://user:password@...") is masked; and the STATEMENT line is left
 * out when the statement names one.  Mere mentions
 * of a name, as in hints, are kept.  This covers what PostgreSQL writes; it
 * is no parser, and cannot see every way of spelling a statement.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "lib/stringinfo.h"
#include "tcop/tcopprot.h"
#include "utils/elog.h"
#include "utils/memutils.h"

#include "credcache.h"
#include "redact.h"
#include "settings.h"

#define MASK "********"
#define MIN_MASKED_VALUE 6		/* shorter values would mask common words */

static emit_log_hook_type prev_emit_log_hook = NULL;

/* The names of the credential settings, after "iai.". */
static const char *const secret_names[] = {"secret_key", "session_token", "secret_id"};

/* Skip spaces, newlines and SQL comments. */
static const char *
skip_blanks(const char *p)
{
	for (;;)
	{
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (p[0] == '-' && p[1] == '-')
			p += strcspn(p, "\n");
		else if (p[0] == '/' && p[1] == '*')
		{
			const char *e = strstr(p + 2, "*/");

			p = e ? e + 2 : p + strlen(p);
		}
		else
			return p;
	}
}

/*
 * Length of a credential setting's name at p, or 0: "iai.secret_key" in any
 * case, blanks allowed around the dot, and each part or the whole name
 * quoted or not ("iai"."secret_key", "iai.secret_key", 'iai.secret_key',
 * iai."secret_key").  The length covers a closing quote; *quoted says
 * whether the name ended with one.
 */
static size_t
secret_name_at(const char *p, bool *quoted)
{
	const char *q = p;
	char		whole = '\0';	/* quote opened before "iai", still open */

	*quoted = false;
	if (*q == '"' || *q == '\'')
		whole = *q++;
	if (pg_strncasecmp(q, "iai", 3) != 0)
		return 0;
	q += 3;
	if (whole == '"' && *q == '"')
	{
		/* "iai" quoted on its own */
		whole = '\0';
		q++;
	}
	q = skip_blanks(q);
	if (*q != '.')
		return 0;
	q = skip_blanks(q + 1);
	if (whole == '\0' && *q == '"')
	{
		q++;
		whole = '"';
	}
	for (size_t i = 0; i < lengthof(secret_names); i++)
	{
		size_t		n = strlen(secret_names[i]);

		if (pg_strncasecmp(q, secret_names[i], n) == 0 &&
			!(isalnum((unsigned char) q[n]) || q[n] == '_'))
		{
			q += n;
			if (whole != '\0' && *q == whole)
			{
				q++;
				*quoted = true;
			}
			return q - p;
		}
	}
	return 0;
}

/*
 * Whether, after a credential setting's name (quoted if the name was), a
 * value follows: "= ...", "TO ...", "changed to ...", or, after a quoted
 * name, ", ..." (set_config) or ": ...".
 */
static bool
value_follows(const char *p, bool quoted)
{
	p = skip_blanks(p);
	if (*p == '=' || pg_strncasecmp(p, "changed to", 10) == 0 ||
		(pg_strncasecmp(p, "to", 2) == 0 && !isalnum((unsigned char) p[2])))
		return true;
	return quoted && (*p == ',' || *p == ':');
}

static bool
names_a_secret(const char *text)
{
	bool		quoted;

	if (text == NULL)
		return false;
	for (; *text; text++)
		if (secret_name_at(text, &quoted) > 0)
			return true;
	return false;
}

/* How many values secret_values() may give. */
#define MAX_SECRET_VALUES (lengthof(secret_names) + 2)

/* The current values of the credential settings, worth masking. */
static int
secret_values(const char **values)
{
	const char *candidates[] = {iai_secret_key, iai_session_token, iai_secret_id,
	iai_temp_last_key(), iai_temp_last_token()};
	int			n = 0;

	for (size_t i = 0; i < lengthof(candidates); i++)
		if (candidates[i] != NULL && strlen(candidates[i]) >= MIN_MASKED_VALUE)
			values[n++] = candidates[i];
	return n;
}

/*
 * text with secret values masked and, where a value follows a credential
 * setting's name, everything after the name masked.  NULL if nothing
 * needed masking.
 */
static char *
redacted(const char *text, const char **values, int nvalues)
{
	StringInfoData out;
	bool		changed = false;
	const char *p = text;

	if (text == NULL)
		return NULL;
	initStringInfo(&out);
	while (*p)
	{
		size_t		n;
		bool		quoted;
		bool		matched = false;

		for (int i = 0; i < nvalues && !matched; i++)
		{
			size_t		vlen = strlen(values[i]);

			if (strncmp(p, values[i], vlen) == 0)
			{
				appendStringInfoString(&out, MASK);
				p += vlen;
				matched = changed = true;
			}
		}
		if (!matched && strncmp(p, "://", 3) == 0)
		{
			/* a URL's user information, as in a refused endpoint or proxy */
			size_t		u = strcspn(p + 3, "/@ \t\n\"'");

			if (u > 0 && p[3 + u] == '@')
			{
				appendStringInfoString(&out, "://" MASK "@");
				p += 3 + u + 1;
				matched = changed = true;
			}
		}
		if (!matched && (n = secret_name_at(p, &quoted)) > 0)
		{
			if (value_follows(p + n, quoted))
			{
				appendBinaryStringInfo(&out, p, n);
				appendStringInfoString(&out, " " MASK);
				p += strlen(p);
				matched = changed = true;
			}
		}
		if (!matched)
			appendStringInfoChar(&out, *p++);
	}
	if (!changed)
	{
		pfree(out.data);
		return NULL;
	}
	return out.data;
}

static void
redact_field(char **field, const char **values, int nvalues)
{
	char	   *r = redacted(*field, values, nvalues);

	if (r != NULL)
		*field = r;				/* the old text goes with ErrorContext */
}

static void
redact_hook(ErrorData *edata)
{
	const char *values[MAX_SECRET_VALUES];
	int			nvalues = secret_values(values);
	MemoryContext old = MemoryContextSwitchTo(ErrorContext);

	redact_field(&edata->message, values, nvalues);
	redact_field(&edata->detail, values, nvalues);
	redact_field(&edata->detail_log, values, nvalues);
	redact_field(&edata->hint, values, nvalues);
	redact_field(&edata->context, values, nvalues);
	redact_field(&edata->internalquery, values, nvalues);
	if (names_a_secret(debug_query_string))
		edata->hide_stmt = true;
	else if (debug_query_string != NULL)
	{
		for (int i = 0; i < nvalues; i++)
			if (strstr(debug_query_string, values[i]) != NULL)
				edata->hide_stmt = true;
	}
	MemoryContextSwitchTo(old);

	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

void
iai_install_redaction(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = redact_hook;
}
