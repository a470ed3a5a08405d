/*-------------------------------------------------------------------------
 *
 * tc3.c
 *		TC3-HMAC-SHA256 request signing (Tencent Cloud API 3.0, signature v3).
 *
 * The canonical request is produced by one routine that writes either into
 * a caller's buffer (for display and the known-answer test) or straight
 * into a SHA-256 context (for signing), so what is shown is by construction
 * what is signed.  The HMAC chain's intermediate keys are raw bytes that may
 * contain NULs; they are never handled as C strings, and are wiped after use.
 *
 * Speed: the digest and MAC implementations are fetched once and their
 * contexts reused (OpenSSL 3 looks algorithms up on every one-shot call),
 * and the signing key, which depends only on the secret, the UTC date and
 * the service, is derived once per day.  This state is per process and not
 * thread-safe, like the backend that uses it.
 *
 * No PostgreSQL dependency: see tc3.h.
 *
 *-------------------------------------------------------------------------
 */
#include "tc3.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#include <openssl/core_names.h>
#define TC3_FETCH_ONCE 1
#endif

#define SHA256_LEN 32
#define MAX_SIGNED_HEADERS (TC3_MAX_EXTRA_HEADERS + 2)

/* A bounded output buffer with snprintf semantics: len counts what was needed. */
typedef struct Out
{
	char	   *buf;
	size_t		cap;
	size_t		len;
} Out;

/* Where canonical-request bytes go: a buffer, a digest, or both. */
typedef struct Sink
{
	Out		   *out;
	EVP_MD_CTX *md;
	int			failed;
} Sink;

/* One signed header, pointing into the caller's strings. */
typedef struct SignedHeader
{
	const char *name;
	const char *value;
} SignedHeader;

static const char hexdigits[] = "0123456789abcdef";

/* The signing key of the last request, kept while secret, date and service stay. */
static struct
{
	bool		valid;
	char		date[TC3_DATE_LEN + 1];
	char		service[65];
	unsigned char *secret;		/* malloc'd copy, wiped when replaced */
	size_t		secret_len;
	unsigned char key[SHA256_LEN];
}			key_cache;

static const EVP_MD *
sha256(void)
{
#ifdef TC3_FETCH_ONCE
	static EVP_MD *md = NULL;

	if (md == NULL)
		md = EVP_MD_fetch(NULL, "SHA256", NULL);
	return md;
#else
	return EVP_sha256();
#endif
}

/* A digest context for one use at a time, reset by each EVP_DigestInit_ex. */
static EVP_MD_CTX *
digest_ctx(void)
{
	static EVP_MD_CTX *ctx = NULL;

	if (ctx == NULL)
		ctx = EVP_MD_CTX_new();
	return ctx;
}

static char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

static void
out_put(Out *out, const char *s, size_t n)
{
	if (out->len < out->cap)
	{
		size_t		room = out->cap - out->len - 1;

		memcpy(out->buf + out->len, s, n < room ? n : room);
	}
	out->len += n;
}

static size_t
out_finish(Out *out)
{
	if (out->cap > 0)
		out->buf[out->len < out->cap ? out->len : out->cap - 1] = '\0';
	return out->len;
}

static void
sink_put(Sink *sink, const char *s, size_t n)
{
	if (sink->out)
		out_put(sink->out, s, n);
	if (sink->md && !sink->failed && EVP_DigestUpdate(sink->md, s, n) != 1)
		sink->failed = 1;
}

static void
sink_puts(Sink *sink, const char *s)
{
	sink_put(sink, s, strlen(s));
}

/* Append s lowercased (ASCII), in chunks to keep digest updates few. */
static void
sink_put_lower(Sink *sink, const char *s, size_t n)
{
	char		chunk[128];

	while (n > 0)
	{
		size_t		k = n < sizeof(chunk) ? n : sizeof(chunk);

		for (size_t i = 0; i < k; i++)
			chunk[i] = ascii_lower(s[i]);
		sink_put(sink, chunk, k);
		s += k;
		n -= k;
	}
}

static void
hex_encode(const unsigned char *bytes, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
	{
		out[2 * i] = hexdigits[bytes[i] >> 4];
		out[2 * i + 1] = hexdigits[bytes[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/* Compare header names case-insensitively (ASCII), as the sort order requires. */
static int
name_cmp(const char *a, const char *b)
{
	for (;; a++, b++)
	{
		unsigned char ca = (unsigned char) ascii_lower(*a);
		unsigned char cb = (unsigned char) ascii_lower(*b);

		if (ca != cb || ca == '\0')
			return (int) ca - (int) cb;
	}
}

/*
 * Collect content-type, host and the extra headers, sorted by lowercase name.
 * Returns the count, or -1 if there are too many or a name repeats.
 */
static int
collect_headers(const Tc3Request *req, SignedHeader *h)
{
	int			n = 0;

	if (req->n_extra_headers < 0 || req->n_extra_headers > TC3_MAX_EXTRA_HEADERS)
		return -1;
	h[n].name = "content-type";
	h[n++].value = req->content_type ? req->content_type : "";
	h[n].name = "host";
	h[n++].value = req->host ? req->host : "";
	for (int i = 0; i < req->n_extra_headers; i++)
	{
		h[n].name = req->extra_headers[i].name;
		h[n++].value = req->extra_headers[i].value ? req->extra_headers[i].value : "";
	}

	/* insertion sort: at most ten entries */
	for (int i = 1; i < n; i++)
	{
		SignedHeader tmp = h[i];
		int			j = i - 1;

		while (j >= 0 && name_cmp(h[j].name, tmp.name) > 0)
		{
			h[j + 1] = h[j];
			j--;
		}
		h[j + 1] = tmp;
	}
	for (int i = 1; i < n; i++)
		if (name_cmp(h[i - 1].name, h[i].name) == 0)
			return -1;
	return n;
}

static void
emit_signed_headers(Sink *sink, const SignedHeader *h, int n)
{
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			sink_put(sink, ";", 1);
		sink_put_lower(sink, h[i].name, strlen(h[i].name));
	}
}

/* Header value as canonicalised: surrounding spaces and tabs removed. */
static void
emit_trimmed_lower(Sink *sink, const char *v)
{
	const char *end = v + strlen(v);

	while (*v == ' ' || *v == '\t')
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	sink_put_lower(sink, v, (size_t) (end - v));
}

/* Write the canonical request into sink; returns 0 or -1. */
static int
emit_canonical_request(const Tc3Request *req, Sink *sink)
{
	SignedHeader h[MAX_SIGNED_HEADERS];
	char		payload_hash[TC3_HEX_LEN + 1];
	int			n = collect_headers(req, h);

	if (n < 0)
		return -1;
	if (tc3_sha256_hex(req->payload ? (const void *) req->payload : (const void *) "",
					   req->payload_len, payload_hash) != 0)
		return -1;

	/* method, URI, and the (empty) query string */
	sink_puts(sink, "POST\n/\n\n");
	for (int i = 0; i < n; i++)
	{
		sink_put_lower(sink, h[i].name, strlen(h[i].name));
		sink_put(sink, ":", 1);
		emit_trimmed_lower(sink, h[i].value);
		sink_put(sink, "\n", 1);
	}
	sink_put(sink, "\n", 1);
	emit_signed_headers(sink, h, n);
	sink_put(sink, "\n", 1);
	sink_put(sink, payload_hash, TC3_HEX_LEN);
	return sink->failed ? -1 : 0;
}

/* Write v as exactly width decimal digits (v is known to fit). */
static void
put_digits(char *out, int64_t v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		out[i] = (char) ('0' + v % 10);
}

/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
int
tc3_utc_date(int64_t timestamp, char out[TC3_DATE_LEN + 1])
{
	int64_t		z,
				era,
				doe,
				yoe,
				y,
				doy,
				mp,
				d,
				m;

	/* year 9999 ends at 253402300799 */
	if (timestamp < 0 || timestamp > INT64_C(253402300799))
		return -1;
	z = timestamp / 86400 + 719468;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	if (m <= 2)
		y++;
	put_digits(out, y, 4);
	out[4] = '-';
	put_digits(out + 5, m, 2);
	out[7] = '-';
	put_digits(out + 8, d, 2);
	out[10] = '\0';
	return 0;
}

int
tc3_sha256_hex(const void *data, size_t len, char out[TC3_HEX_LEN + 1])
{
	unsigned char digest[SHA256_LEN];
	unsigned int dlen = 0;
	EVP_MD_CTX *ctx = digest_ctx();

	if (ctx == NULL || sha256() == NULL ||
		EVP_DigestInit_ex(ctx, sha256(), NULL) != 1 ||
		EVP_DigestUpdate(ctx, data, len) != 1 ||
		EVP_DigestFinal_ex(ctx, digest, &dlen) != 1 ||
		dlen != SHA256_LEN)
		return -1;
	hex_encode(digest, SHA256_LEN, out);
	return 0;
}

size_t
tc3_signed_headers(const Tc3Request *req, char *buf, size_t bufsize)
{
	SignedHeader h[MAX_SIGNED_HEADERS];
	Out			out = {buf, bufsize, 0};
	Sink		sink = {&out, NULL, 0};
	int			n = collect_headers(req, h);

	if (n < 0)
		return out_finish(&out);
	emit_signed_headers(&sink, h, n);
	return out_finish(&out);
}

size_t
tc3_canonical_request(const Tc3Request *req, char *buf, size_t bufsize)
{
	Out			out = {buf, bufsize, 0};
	Sink		sink = {&out, NULL, 0};

	if (emit_canonical_request(req, &sink) != 0)
		out.len = 0;
	return out_finish(&out);
}

/* Hash of the canonical request, computed without materialising it. */
static int
canonical_request_hash(const Tc3Request *req, char out[TC3_HEX_LEN + 1])
{
	static EVP_MD_CTX *ctx = NULL;
	unsigned char digest[SHA256_LEN];
	unsigned int dlen = 0;
	Sink		sink = {NULL, NULL, 0};

	/* its own context: emitting the request hashes the payload meanwhile */
	if (ctx == NULL && (ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	sink.md = ctx;
	if (sha256() == NULL ||
		EVP_DigestInit_ex(ctx, sha256(), NULL) != 1 ||
		emit_canonical_request(req, &sink) != 0 ||
		EVP_DigestFinal_ex(ctx, digest, &dlen) != 1 ||
		dlen != SHA256_LEN)
		return -1;
	hex_encode(digest, SHA256_LEN, out);
	return 0;
}

static size_t
format_string_to_sign(const Tc3Request *req, const char *date,
					  const char *creq_hash, char *buf, size_t bufsize)
{
	int			n = snprintf(buf, bufsize, "%s\n%lld\n%s/%s/tc3_request\n%s",
							 TC3_ALGORITHM, (long long) req->timestamp,
							 date, req->service, creq_hash);

	return n < 0 ? 0 : (size_t) n;
}

size_t
tc3_string_to_sign(const Tc3Request *req, char *buf, size_t bufsize)
{
	char		date[TC3_DATE_LEN + 1];
	char		creq_hash[TC3_HEX_LEN + 1];

	if (tc3_utc_date(req->timestamp, date) != 0 ||
		canonical_request_hash(req, creq_hash) != 0)
	{
		if (bufsize > 0)
			buf[0] = '\0';
		return 0;
	}
	return format_string_to_sign(req, date, creq_hash, buf, bufsize);
}

static int
hmac_sha256(const unsigned char *key, size_t keylen,
			const void *data, size_t datalen, unsigned char out[SHA256_LEN])
{
#ifdef TC3_FETCH_ONCE
	static EVP_MAC_CTX *ctx = NULL;
	size_t		olen = 0;

	if (ctx == NULL)
	{
		EVP_MAC    *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		OSSL_PARAM	params[2];

		if (mac == NULL)
			return -1;
		ctx = EVP_MAC_CTX_new(mac);
		EVP_MAC_free(mac);		/* the context keeps its own reference */
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
		params[1] = OSSL_PARAM_construct_end();
		if (ctx == NULL || EVP_MAC_CTX_set_params(ctx, params) != 1)
		{
			EVP_MAC_CTX_free(ctx);
			ctx = NULL;
			return -1;
		}
	}
	if (EVP_MAC_init(ctx, key, keylen, NULL) != 1 ||
		EVP_MAC_update(ctx, data, datalen) != 1 ||
		EVP_MAC_final(ctx, out, &olen, SHA256_LEN) != 1 ||
		olen != SHA256_LEN)
		return -1;
	return 0;
#else
	unsigned int olen = 0;

	if (HMAC(EVP_sha256(), key, (int) keylen, data, datalen, out, &olen) == NULL ||
		olen != SHA256_LEN)
		return -1;
	return 0;
#endif
}

/* kSigning for this secret, date and service, derived at most once a day. */
static int
cached_signing_key(const char *secret_key, size_t secret_key_len,
				   const char *date, const char *service,
				   unsigned char out[SHA256_LEN])
{
	if (key_cache.valid && key_cache.secret_len == secret_key_len &&
		CRYPTO_memcmp(key_cache.secret, secret_key, secret_key_len) == 0 &&
		strcmp(key_cache.date, date) == 0 && strcmp(key_cache.service, service) == 0)
	{
		memcpy(out, key_cache.key, SHA256_LEN);
		return 0;
	}

	if (tc3_signing_key(secret_key, secret_key_len, date, service, out) != 0)
		return -1;
	if (key_cache.secret != NULL)
	{
		OPENSSL_cleanse(key_cache.secret, key_cache.secret_len);
		free(key_cache.secret);
		key_cache.secret = NULL;
	}
	key_cache.valid = false;
	if (strlen(service) >= sizeof(key_cache.service) ||
		(key_cache.secret = malloc(secret_key_len + 1)) == NULL)
		return 0;				/* no cache, still a correct key */
	key_cache.secret_len = secret_key_len;
	memcpy(key_cache.secret, secret_key, secret_key_len);
	strcpy(key_cache.date, date);
	strcpy(key_cache.service, service);
	memcpy(key_cache.key, out, SHA256_LEN);
	key_cache.valid = true;
	return 0;
}

int
tc3_signing_key(const char *secret_key, size_t secret_key_len,
				const char *date, const char *service,
				unsigned char out[SHA256_LEN])
{
	unsigned char prefixed[3 + TC3_MAX_SECRET_KEY_LEN];
	unsigned char k_date[SHA256_LEN];
	unsigned char k_service[SHA256_LEN];
	int			rc = -1;

	if (secret_key_len > TC3_MAX_SECRET_KEY_LEN)
		return -1;
	memcpy(prefixed, "TC3", 3);
	memcpy(prefixed + 3, secret_key, secret_key_len);

	if (hmac_sha256(prefixed, 3 + secret_key_len, date, strlen(date), k_date) == 0 &&
		hmac_sha256(k_date, SHA256_LEN, service, strlen(service), k_service) == 0 &&
		hmac_sha256(k_service, SHA256_LEN, "tc3_request", 11, out) == 0)
		rc = 0;

	OPENSSL_cleanse(prefixed, sizeof(prefixed));
	OPENSSL_cleanse(k_date, sizeof(k_date));
	OPENSSL_cleanse(k_service, sizeof(k_service));
	return rc;
}

int
tc3_sign(const Tc3Request *req, const char *secret_key, size_t secret_key_len,
		 Tc3Signature *sig)
{
	char		creq_hash[TC3_HEX_LEN + 1];
	char		sts[256];
	size_t		sts_len;
	unsigned char k_signing[SHA256_LEN];
	unsigned char mac[SHA256_LEN];
	int			rc = -1;

	if (req->service == NULL || strlen(req->service) > 64 ||
		tc3_utc_date(req->timestamp, sig->date) != 0 ||
		canonical_request_hash(req, creq_hash) != 0)
		return -1;

	sts_len = format_string_to_sign(req, sig->date, creq_hash, sts, sizeof(sts));
	if (sts_len == 0 || sts_len >= sizeof(sts))
		return -1;

	if (cached_signing_key(secret_key, secret_key_len, sig->date, req->service,
						   k_signing) == 0 &&
		hmac_sha256(k_signing, SHA256_LEN, sts, sts_len, mac) == 0)
	{
		hex_encode(mac, SHA256_LEN, sig->signature);
		rc = 0;
	}
	OPENSSL_cleanse(k_signing, sizeof(k_signing));
	return rc;
}

size_t
tc3_authorization(const Tc3Request *req, const char *secret_id,
				  const Tc3Signature *sig, char *buf, size_t bufsize)
{
	Out			out = {buf, bufsize, 0};
	Sink		sink = {&out, NULL, 0};
	SignedHeader h[MAX_SIGNED_HEADERS];
	int			n = collect_headers(req, h);

	if (n < 0)
		return out_finish(&out);
	sink_puts(&sink, TC3_ALGORITHM " Credential=");
	sink_puts(&sink, secret_id);
	sink_puts(&sink, "/");
	sink_puts(&sink, sig->date);
	sink_puts(&sink, "/");
	sink_puts(&sink, req->service);
	sink_puts(&sink, "/tc3_request, SignedHeaders=");
	emit_signed_headers(&sink, h, n);
	sink_puts(&sink, ", Signature=");
	sink_puts(&sink, sig->signature);
	return out_finish(&out);
}
