/*-------------------------------------------------------------------------
 *
 * http.h
 *		HTTP POST (and GET) over libcurl for a PostgreSQL backend: one
 *		reused connection for a call at a time, a pool of keep-alive
 *		connections for many at once, interruptible waits, bounded answers.
 *
 * Knows nothing of the API it carries.
 *
 *-------------------------------------------------------------------------
 */
#ifndef IAI_HTTP_H
#define IAI_HTTP_H

#include <stddef.h>

/* How a transfer ended, as far as the caller needs to tell failures apart. */
typedef enum HttpOutcome
{
	HTTP_DONE = 0,				/* a complete answer arrived (any status) */
	HTTP_RESOLVE_FAILED,		/* host name not found */
	HTTP_CONNECT_FAILED,		/* TCP connect refused or unreachable */
	HTTP_TLS_FAILED,			/* TLS handshake */
	HTTP_TLS_UNTRUSTED,			/* certificate not issued by a trusted CA */
	HTTP_TLS_UNVERIFIED,		/* certificate refused otherwise (host name,
								 * validity period, ...) */
	HTTP_CA_UNREADABLE,			/* the CA file could not be read */
	HTTP_TIMED_OUT,				/* iai.timeout_ms or connect timeout hit */
	HTTP_CONNECTION_LOST,		/* reset or closed before a full answer */
	HTTP_TOO_LARGE,				/* answer longer than max_response */
	HTTP_FAILED					/* anything else libcurl reports */
} HttpOutcome;

typedef struct HttpRequest
{
	const char *url;
	const char *const *headers; /* "Name: value" lines */
	int			nheaders;
	const char *body;			/* ignored by http_get() */
	size_t		body_len;
	long		timeout_ms;
	long		connect_timeout_ms;
	const char *ca_file;		/* NULL or "" for the system's store */
	const char *proxy;			/* NULL or "" for a direct connection (proxy
								 * environment variables ignored), else the
								 * proxy's URL */
	bool		proxy_from_environment; /* follow http_proxy, no_proxy, ...
										 * instead */
	size_t		max_response;	/* bytes */
	uint32		wait_event;		/* reported while waiting for the network */
} HttpRequest;

typedef struct HttpResponse
{
	HttpOutcome outcome;
	long		status;			/* HTTP status when outcome is HTTP_DONE */
	char	   *body;			/* palloc'd, NUL-terminated */
	size_t		body_len;
	bool		maybe_delivered;	/* the request may have reached the server */
	int			sends;			/* times libcurl sent it: >1 after a silent
								 * resend on a fresh connection */
	long		new_connections;	/* connections opened for this transfer */
	double		setup_ms;		/* from the start until the request went out */
	double		elapsed_ms;
	char		message[320];	/* libcurl's explanation of a failure, in its
								 * own words: they change between versions */
} HttpResponse;

extern void http_post(const HttpRequest *req, HttpResponse *resp);
extern void http_get(const HttpRequest *req, HttpResponse *resp);

/* libcurl's built-in CA bundle path (used when ca_file is empty), or NULL. */
extern const char *http_default_ca_file(void);

/*
 * Whether a request to url, verified with ca_file, will most likely go out
 * at once on a connection already open (rather than after a TCP and TLS
 * handshake).
 */
extern bool http_connection_ready(const char *url, const char *ca_file);

/*
 * Many transfers at once, for the queue worker: each runs on a handle of its
 * own over a pool of keep-alive connections (apart from http_post's).
 * http_start() starts one and returns at once; http_pool_wait() drives them
 * all, interruptibly and reporting wait_event, until one has finished or
 * timeout_ms has passed (true if one has); http_pool_next_done() hands over a finished one's
 * answer and returns the tag it was started with (NULL when none is left).
 * After an error escapes, http_pool_cancel_all() drops every transfer (their
 * connections are closed).
 */
typedef struct HttpTransfer HttpTransfer;

extern void http_pool_set_size(int size);
extern HttpTransfer *http_start(const HttpRequest *req, void *tag);
extern bool http_pool_wait(long timeout_ms, uint32 wait_event);
extern void *http_pool_next_done(HttpResponse *resp);
extern int	http_pool_active(void);
extern void http_pool_cancel_all(void);

/* Whether a transfer started now would find an idle connection of the pool. */
extern bool http_pool_ready(const char *url, const char *ca_file);

#endif							/* IAI_HTTP_H */
