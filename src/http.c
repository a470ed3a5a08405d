/*-------------------------------------------------------------------------
 *
 * http.c
 *		HTTP POST (and GET) over libcurl for a PostgreSQL backend.
 *
 * One easy handle and one multi handle live for the whole backend, so the
 * TCP connection, TLS session and DNS answer are reused from call to call.
 * Every option is re-applied on every call (curl_easy_reset first), so a
 * changed timeout or CA file always takes effect.
 *
 * The transfer is driven with the multi interface and waits in short
 * curl_multi_poll() slices: a signal (query cancel, statement_timeout,
 * terminate) interrupts the poll at once and CHECK_FOR_INTERRUPTS() runs
 * between slices, so a call never outlives a cancel by more than a slice.
 * If an error escapes mid-transfer, the handle is detached and its
 * half-used connection discarded, leaving the backend ready for the next
 * call.  libcurl never raises signals (CURLOPT_NOSIGNAL) and its callbacks
 * never ereport: errors are collected and reported after curl returns.
 *
 * Beside it, a pool for the queue worker (http_start() and friends): many
 * transfers at once, each on its own easy handle taken from a free list,
 * driven by a second multi handle whose connection cache keeps one
 * keep-alive connection per transfer in flight.  Its waits are the same
 * interruptible slices; finished transfers are collected by the caller.
 *
 * When a reused connection turns out to be dead, libcurl resends the request
 * once on a fresh one by itself.  That is what we want, but the first send
 * may have been processed, so the number of sends is counted (the
 * pre-request callback runs once per send) and reported to the caller.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include <curl/curl.h>
#include <openssl/x509_vfy.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "storage/pmsignal.h"
#include "utils/memutils.h"
#if PG_VERSION_NUM >= 140000
#include "utils/wait_event.h"
#endif

#include "http.h"

/* curl_multi_poll() came in 7.66, CURLOPT_MAXAGE_CONN in 7.65 */
#if LIBCURL_VERSION_NUM < 0x074200
#error "iai needs libcurl 7.66 or newer"
#endif

/* Longest uninterrupted wait inside libcurl; bounds cancel latency. */
#define POLL_SLICE_MS 20

/* Connections idle longer than this are not reused (servers drop at ~60 s). */
#define MAX_IDLE_CONNECTION_S 50L

static CURL *easy = NULL;
static CURLM *multi = NULL;

/* An answer being received; malloc'd because libcurl's callback fills it. */
typedef struct RecvBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	size_t		limit;
	bool		too_large;
} RecvBuf;

static RecvBuf rbuf;

/* A transfer of the pool (see http_start). */
struct HttpTransfer
{
	CURL	   *easy;
	struct curl_slist *headers;
	char	   *body;			/* malloc'd copy of the request body */
	RecvBuf		rbuf;
	int			sends;
	CURLcode	result;
	instr_time	start;
	void	   *tag;
	char		errbuf[CURL_ERROR_SIZE];
	bool		active;			/* added to the multi handle */
	struct HttpTransfer *next;	/* in the free or the finished list */
	struct HttpTransfer *all_next;	/* every transfer ever made */
};

static CURLM *pool_multi = NULL;
static HttpTransfer *pool_all = NULL;
static HttpTransfer *pool_free = NULL;
static HttpTransfer *pool_done = NULL;	/* finished, not yet collected */
static int	pool_active = 0;	/* started, not yet finished */
static long pool_size = 0;

/* Connections of the pool left open and idle, to pool_url with pool_ca. */
static int	pool_idle = 0;
static char *pool_url = NULL;
static char *pool_ca = NULL;
static instr_time pool_idle_since;

/*
 * Where the last complete answer came from, and when (monotonic ns).  The
 * strings are kept across calls and copied again only when they change.
 */
static bool conn_ready = false;
static char *ready_url = NULL;
static char *ready_ca = NULL;
static instr_time ready_since;

/* Sends of the current transfer. */
static int	sends;

/* unused before libcurl 7.80 */
static int	count_send(void *clientp, char *conn_primary_ip, char *conn_local_ip,
					   int conn_primary_port, int conn_local_port) pg_attribute_unused();

static int
count_send(void *clientp, char *conn_primary_ip, char *conn_local_ip,
		   int conn_primary_port, int conn_local_port)
{
	(*(int *) clientp)++;
	return CURL_PREREQFUNC_OK;
}

static size_t
write_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	RecvBuf    *b = (RecvBuf *) userdata;
	size_t		n = size * nmemb;

	if (b->len + n > b->limit)
	{
		b->too_large = true;
		return 0;				/* makes libcurl abort with CURLE_WRITE_ERROR */
	}
	if (b->len + n + 1 > b->cap)
	{
		size_t		newcap = b->cap ? b->cap : 4096;
		char	   *p;

		while (newcap < b->len + n + 1)
			newcap *= 2;
		p = realloc(b->data, newcap);
		if (p == NULL)
			return 0;
		b->data = p;
		b->cap = newcap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	return n;
}

/* Seconds since t (PostgreSQL's monotonic instr_time clock). */
static double
seconds_since(instr_time t)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, t);
	return INSTR_TIME_GET_DOUBLE(now);
}

static bool
same_text(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Remember (or forget) that a connection to url is open and idle. */
static void
note_ready(const HttpRequest *req, bool ready)
{
	conn_ready = false;
	if (!ready)
		return;
	if (ready_url == NULL || strcmp(ready_url, req->url) != 0)
	{
		free(ready_url);
		ready_url = strdup(req->url);
	}
	if (!same_text(ready_ca, req->ca_file))
	{
		free(ready_ca);
		ready_ca = req->ca_file ? strdup(req->ca_file) : NULL;
	}
	/* a failed copy only costs the "connection ready" hint */
	conn_ready = ready_url != NULL && same_text(ready_ca, req->ca_file);
	INSTR_TIME_SET_CURRENT(ready_since);
}

bool
http_connection_ready(const char *url, const char *ca_file)
{
	/* a little short of libcurl's own limit, so both agree */
	return conn_ready && same_text(ready_url, url) &&
		same_text(ready_ca, ca_file) &&
		seconds_since(ready_since) < MAX_IDLE_CONNECTION_S - 5;
}

/* A handle libcurl made, or an error: it fails only for want of memory. */
static void *
made(void *handle)
{
	if (handle == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not initialise libcurl")));
	return handle;
}

static void
ensure_handles(void)
{
	if (easy == NULL)
		easy = made(curl_easy_init());
	if (multi == NULL)
		multi = made(curl_multi_init());
}

/* Map libcurl's result on handle easy to what the caller must distinguish. */
static HttpOutcome
classify(CURL *easy, CURLcode rc)
{
	switch (rc)
	{
		case CURLE_OK:
			return HTTP_DONE;
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
			return HTTP_RESOLVE_FAILED;
		case CURLE_COULDNT_CONNECT:
			return HTTP_CONNECT_FAILED;
		case CURLE_OPERATION_TIMEDOUT:
			return HTTP_TIMED_OUT;
		case CURLE_PEER_FAILED_VERIFICATION:
			{
				long		verify = 0;

				/*
				 * OpenSSL's verdict on the chain tells an unknown issuer
				 * apart; what else failed (the host name, say) libcurl
				 * reports differently from version to version.
				 */
				curl_easy_getinfo(easy, CURLINFO_SSL_VERIFYRESULT, &verify);
				switch (verify)
				{
					case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
					case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
					case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
					case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
					case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
					case X509_V_ERR_CERT_UNTRUSTED:
						return HTTP_TLS_UNTRUSTED;
					default:
						return HTTP_TLS_UNVERIFIED;
				}
			}
		case CURLE_SSL_CACERT_BADFILE:
			return HTTP_CA_UNREADABLE;
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_ENGINE_NOTFOUND:
		case CURLE_SSL_ENGINE_SETFAILED:
		case CURLE_SSL_ENGINE_INITFAILED:
		case CURLE_SSL_CRL_BADFILE:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_SSL_INVALIDCERTSTATUS:
			return HTTP_TLS_FAILED;
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
			return HTTP_CONNECTION_LOST;
		case CURLE_FILESIZE_EXCEEDED:
			return HTTP_TOO_LARGE;
		default:
			return HTTP_FAILED;
	}
}

/* Options for req on handle easy (http_post's, or one of the pool's). */
static void
set_options(CURL *easy, const HttpRequest *req, bool get,
			struct curl_slist *headers, char *errbuf)
{
	curl_easy_reset(easy);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(easy, CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
	if (get)
		curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
	else
	{
		curl_easy_setopt(easy, CURLOPT_POST, 1L);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
	}
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "iai/1.0 (PostgreSQL extension)");
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(easy, CURLOPT_MAXAGE_CONN, MAX_IDLE_CONNECTION_S);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file != NULL && req->ca_file[0] != '\0')
		curl_easy_setopt(easy, CURLOPT_CAINFO, req->ca_file);
	/* after the reset, libcurl follows the proxy environment variables */
	if (!req->proxy_from_environment)
	{
		/* "" disables the environment's proxy; no_proxy may not bypass ours */
		curl_easy_setopt(easy, CURLOPT_PROXY, req->proxy ? req->proxy : "");
		curl_easy_setopt(easy, CURLOPT_NOPROXY, "");
	}
	curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) req->max_response);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_body);
#if LIBCURL_VERSION_NUM >= 0x075000
	curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, count_send);
#endif
}

/* The headers of req as a list for libcurl; raises when out of memory. */
static struct curl_slist *
header_list(const HttpRequest *req)
{
	struct curl_slist *headers = NULL;

	for (int i = 0; i < req->nheaders; i++)
	{
		struct curl_slist *l = curl_slist_append(headers, req->headers[i]);

		if (l == NULL)
		{
			curl_slist_free_all(headers);
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
		}
		headers = l;
	}
	return headers;
}

/*
 * Fill resp from a finished transfer on handle easy: its result rc, the
 * answer in b, the number of sends and libcurl's error text.
 */
static void
fill_response(CURL *easy, CURLcode rc, RecvBuf *b, int nsends,
			  const char *errbuf, HttpResponse *resp)
{
	long		sent = 0;
	long		connects = 0;
	curl_off_t	pretransfer_us = 0;

	curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
	resp->new_connections = connects;
	curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
	resp->setup_ms = pretransfer_us / 1000.0;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp->status);
	/* bytes of request written; zero means the server cannot have acted */
	if (curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent) != CURLE_OK)
		sent = 1;
	resp->maybe_delivered = (sent > 0);
	/* without the pre-request callback (libcurl < 7.80), assume one send */
	resp->sends = (nsends == 0 && resp->maybe_delivered) ? 1 : nsends;

	if (rc == CURLE_WRITE_ERROR && b->too_large)
		resp->outcome = HTTP_TOO_LARGE;
	else
		resp->outcome = classify(easy, rc);

	if (resp->outcome != HTTP_DONE && resp->outcome != HTTP_TOO_LARGE)
		snprintf(resp->message, sizeof(resp->message), "%s",
				 errbuf[0] ? errbuf : curl_easy_strerror(rc));

	if (resp->outcome == HTTP_DONE)
	{
		resp->body = palloc(b->len + 1);
		if (b->len > 0)
			memcpy(resp->body, b->data, b->len);
		resp->body[b->len] = '\0';
		resp->body_len = b->len;
	}
	/* an answer may hold temporary credentials: keep no stray copy */
	if (b->len > 0)
		explicit_bzero(b->data, b->len);

	/* do not keep a large buffer for the life of the backend */
	if (b->cap > 64 * 1024)
	{
		free(b->data);
		b->data = NULL;
		b->cap = 0;
	}
}

/* Let libcurl move every transfer of m on; returns how many still run. */
static int
drive(CURLM *m)
{
	int			running = 0;
	CURLMcode	mc = curl_multi_perform(m, &running);

	if (mc != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not perform an HTTP transfer: %s", curl_multi_strerror(mc))));
	return running;
}

/*
 * Wait up to ms for activity on m's sockets, reporting wait_event; a signal
 * ends the wait at once, and interrupts are served before and after.
 */
static void
poll_slice(CURLM *m, long ms, uint32 wait_event)
{
	CURLMcode	mc;

	CHECK_FOR_INTERRUPTS();
	if (!PostmasterIsAlive())
		ereport(FATAL,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("terminating connection due to unexpected postmaster exit")));
	pgstat_report_wait_start(wait_event);
	mc = curl_multi_poll(m, NULL, 0, (int) ms, NULL);
	pgstat_report_wait_end();
	if (mc != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not perform an HTTP transfer: %s", curl_multi_strerror(mc))));
	CHECK_FOR_INTERRUPTS();
}

/* Drive the transfer to its end, waiting interruptibly. */
static CURLcode
run_transfer(uint32 wait_event)
{
	CURLcode	result = CURLE_OK;
	CURLMcode	mc;

	mc = curl_multi_add_handle(multi, easy);
	if (mc != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not start an HTTP transfer: %s", curl_multi_strerror(mc))));

	PG_TRY();
	{
		for (;;)
		{
			CURLMsg    *msg;
			int			queued;

			if (drive(multi) == 0)
			{
				result = CURLE_GOT_NOTHING;
				while ((msg = curl_multi_info_read(multi, &queued)) != NULL)
					if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy)
						result = msg->data.result;
				break;
			}

			poll_slice(multi, POLL_SLICE_MS, wait_event);
		}
	}
	PG_CATCH();
	{
		/*
		 * detaching mid-transfer closes that connection; the next call
		 * reconnects
		 */
		pgstat_report_wait_end();
		curl_multi_remove_handle(multi, easy);
		PG_RE_THROW();
	}
	PG_END_TRY();

	curl_multi_remove_handle(multi, easy);
	return result;
}

const char *
http_default_ca_file(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

#if LIBCURL_VERSION_NUM >= 0x074600
	if (v != NULL && v->age >= CURLVERSION_SEVENTH)
		return v->cainfo;
#endif
	return NULL;
}

static void
perform(const HttpRequest *req, bool get, HttpResponse *resp)
{
	struct curl_slist *volatile headers = NULL;
	char		errbuf[CURL_ERROR_SIZE];
	volatile CURLcode rc = CURLE_OK;
	instr_time	start,
				duration;

	ensure_handles();
	memset(resp, 0, sizeof(*resp));
	errbuf[0] = '\0';
	headers = header_list(req);

	rbuf.len = 0;
	rbuf.limit = req->max_response;
	rbuf.too_large = false;
	sends = 0;

	/* until it completes, this transfer owns whatever connection there is */
	note_ready(req, false);
	set_options(easy, req, get, (struct curl_slist *) headers, errbuf);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &rbuf);
#if LIBCURL_VERSION_NUM >= 0x075000
	curl_easy_setopt(easy, CURLOPT_PREREQDATA, &sends);
#endif
	INSTR_TIME_SET_CURRENT(start);
	PG_TRY();
	{
		rc = run_transfer(req->wait_event);
	}
	PG_FINALLY();
	{
		curl_slist_free_all((struct curl_slist *) headers);
		/* the handle must not keep pointers to this call's strings */
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, NULL);
	}
	PG_END_TRY();
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	resp->elapsed_ms = INSTR_TIME_GET_MILLISEC(duration);

	fill_response(easy, rc, &rbuf, sends, errbuf, resp);
	if (resp->outcome == HTTP_DONE)
		note_ready(req, true);
}

/* ---- the pool ---- */

void
http_pool_set_size(int size)
{
	pool_size = Max(size, 1);
	if (pool_multi != NULL)
		curl_multi_setopt(pool_multi, CURLMOPT_MAXCONNECTS, pool_size);
}

bool
http_pool_ready(const char *url, const char *ca_file)
{
	if (pool_idle > 0 &&
		(!same_text(pool_url, url) || !same_text(pool_ca, ca_file) ||
		 seconds_since(pool_idle_since) >= MAX_IDLE_CONNECTION_S - 5))
		pool_idle = 0;
	return pool_idle > 0;
}

int
http_pool_active(void)
{
	return pool_active;
}

HttpTransfer *
http_start(const HttpRequest *req, void *tag)
{
	HttpTransfer *t;
	CURLMcode	mc;

	ensure_handles();
	if (pool_multi == NULL)
	{
		pool_multi = made(curl_multi_init());
		http_pool_set_size(pool_size);
	}
	if (pool_free != NULL)
	{
		t = pool_free;
		pool_free = t->next;
	}
	else
	{
		CURL	   *handle = made(curl_easy_init());

		t = MemoryContextAllocZero(TopMemoryContext, sizeof(HttpTransfer));
		t->easy = handle;
		t->all_next = pool_all;
		pool_all = t;
	}
	t->next = NULL;
	t->tag = tag;
	t->sends = 0;
	t->result = CURLE_OK;
	t->errbuf[0] = '\0';
	t->rbuf.len = 0;
	t->rbuf.limit = req->max_response;
	t->rbuf.too_large = false;
	t->body = malloc(req->body_len + 1);
	if (t->body == NULL)
	{
		t->next = pool_free;
		pool_free = t;
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	}
	memcpy(t->body, req->body, req->body_len);
	t->body[req->body_len] = '\0';
	PG_TRY();
	{
		t->headers = header_list(req);
	}
	PG_CATCH();
	{
		free(t->body);
		t->body = NULL;
		t->next = pool_free;
		pool_free = t;
		PG_RE_THROW();
	}
	PG_END_TRY();

	{
		HttpRequest copy = *req;

		copy.body = t->body;
		set_options(t->easy, &copy, false, t->headers, t->errbuf);
	}
	curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, &t->rbuf);
#if LIBCURL_VERSION_NUM >= 0x075000
	curl_easy_setopt(t->easy, CURLOPT_PREREQDATA, &t->sends);
#endif
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, (char *) t);

	/* a connection left idle is now taken, if there was one */
	if (http_pool_ready(req->url, req->ca_file))
		pool_idle--;
	if (!same_text(pool_url, req->url) || !same_text(pool_ca, req->ca_file))
	{
		free(pool_url);
		free(pool_ca);
		pool_url = strdup(req->url);
		pool_ca = req->ca_file ? strdup(req->ca_file) : NULL;
	}

	INSTR_TIME_SET_CURRENT(t->start);
	mc = curl_multi_add_handle(pool_multi, t->easy);
	if (mc != CURLM_OK)
	{
		curl_slist_free_all(t->headers);
		t->headers = NULL;
		free(t->body);
		t->body = NULL;
		t->next = pool_free;
		pool_free = t;
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not start an HTTP transfer: %s", curl_multi_strerror(mc))));
	}
	t->active = true;
	pool_active++;
	return t;
}

/* Move the transfers libcurl reports finished to the finished list. */
static void
pool_collect(void)
{
	CURLMsg    *msg;
	int			queued;

	while ((msg = curl_multi_info_read(pool_multi, &queued)) != NULL)
	{
		HttpTransfer *t = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t);
		if (t == NULL)
			continue;
		t->result = msg->data.result;
		curl_multi_remove_handle(pool_multi, t->easy);
		t->active = false;
		pool_active--;
		t->next = pool_done;
		pool_done = t;
	}
}

bool
http_pool_wait(long timeout_ms, uint32 wait_event)
{
	instr_time	start;

	INSTR_TIME_SET_CURRENT(start);

	if (pool_multi == NULL)
		return false;
	for (;;)
	{
		long		left;

		(void) drive(pool_multi);
		pool_collect();
		if (pool_done != NULL || pool_active == 0)
			return pool_done != NULL;
		left = timeout_ms - (long) (seconds_since(start) * 1000.0);
		if (left <= 0)
			return false;

		poll_slice(pool_multi, Min(left, POLL_SLICE_MS), wait_event);
	}
}

/* Give a transfer's handle back to the free list. */
static void
pool_release(HttpTransfer *t)
{
	curl_slist_free_all(t->headers);
	t->headers = NULL;
	free(t->body);
	t->body = NULL;
	/* the handle must not keep pointers to this transfer's strings */
	curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, NULL);
	t->next = pool_free;
	pool_free = t;
}

void *
http_pool_next_done(HttpResponse *resp)
{
	HttpTransfer *t = pool_done;
	instr_time	duration;
	void	   *tag;

	if (t == NULL)
		return NULL;
	pool_done = t->next;
	memset(resp, 0, sizeof(*resp));
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, t->start);
	resp->elapsed_ms = INSTR_TIME_GET_MILLISEC(duration);
	fill_response(t->easy, t->result, &t->rbuf, t->sends, t->errbuf, resp);
	if (resp->outcome == HTTP_DONE)
	{
		/* its connection went back to the cache */
		pool_idle = Min(pool_idle + 1, (int) pool_size);
		INSTR_TIME_SET_CURRENT(pool_idle_since);
	}
	tag = t->tag;
	pool_release(t);
	return tag;
}

void
http_pool_cancel_all(void)
{
	if (pool_multi == NULL)
		return;
	/* detaching mid-transfer closes that connection */
	for (HttpTransfer *t = pool_all; t != NULL; t = t->all_next)
	{
		if (!t->active)
			continue;
		curl_multi_remove_handle(pool_multi, t->easy);
		t->active = false;
		pool_release(t);
	}
	while (pool_done != NULL)
	{
		HttpTransfer *t = pool_done;

		pool_done = t->next;
		pool_release(t);
	}
	pool_active = 0;
	pool_idle = 0;
}

void
http_post(const HttpRequest *req, HttpResponse *resp)
{
	perform(req, false, resp);
}

/* A GET of req->url (body ignored), otherwise as http_post(). */
void
http_get(const HttpRequest *req, HttpResponse *resp)
{
	perform(req, true, resp);
}
