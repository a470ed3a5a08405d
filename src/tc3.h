/*-------------------------------------------------------------------------
 *
 * tc3.h
 *		TC3-HMAC-SHA256 request signing (Tencent Cloud API 3.0, signature v3).
 *
 * Pure C over OpenSSL's libcrypto, with no PostgreSQL dependency, so the
 * known-answer test (test/tc3_kat.c) and the fuzz targets can link it on
 * its own.  Nothing here allocates: every string is written into a buffer
 * the caller supplies, snprintf-style (the return value is the length that
 * was needed, not counting the terminating NUL).
 *
 *-------------------------------------------------------------------------
 */
#ifndef IAI_TC3_H
#define IAI_TC3_H

#include <stddef.h>
#include <stdint.h>

#define TC3_ALGORITHM		"TC3-HMAC-SHA256"
#define TC3_HEX_LEN			64	/* lowercase hex of a SHA-256 digest */
#define TC3_DATE_LEN		10	/* YYYY-MM-DD */
#define TC3_MAX_EXTRA_HEADERS 8
#define TC3_MAX_SECRET_KEY_LEN 1024 /* bytes; longer keys are refused */

/* An additional header to sign besides content-type and host. */
typedef struct Tc3Header
{
	const char *name;
	const char *value;
} Tc3Header;

/* Everything the signature covers. */
typedef struct Tc3Request
{
	const char *service;		/* scope service, "iai" */
	const char *host;			/* Host header value exactly as sent */
	const char *content_type;	/* Content-Type header value as sent */
	const Tc3Header *extra_headers; /* more headers to sign, may be NULL */
	int			n_extra_headers;	/* at most TC3_MAX_EXTRA_HEADERS */
	const unsigned char *payload;	/* exact body bytes */
	size_t		payload_len;
	int64_t		timestamp;		/* X-TC-Timestamp, Unix seconds */
} Tc3Request;

/* The signature of one request, and the pieces of its Authorization. */
typedef struct Tc3Signature
{
	char		date[TC3_DATE_LEN + 1]; /* UTC date of the timestamp */
	char		signature[TC3_HEX_LEN + 1];
} Tc3Signature;

/*
 * Format the UTC calendar date of a Unix timestamp as YYYY-MM-DD.
 * Returns 0, or -1 if the timestamp is out of range.
 */
extern int	tc3_utc_date(int64_t timestamp, char out[TC3_DATE_LEN + 1]);

/* SignedHeaders, e.g. "content-type;host". */
extern size_t tc3_signed_headers(const Tc3Request *req, char *buf, size_t bufsize);

/* The canonical request, exactly as hashed. */
extern size_t tc3_canonical_request(const Tc3Request *req, char *buf, size_t bufsize);

/* The string to sign. Returns 0 on failure (bad timestamp, libcrypto). */
extern size_t tc3_string_to_sign(const Tc3Request *req, char *buf, size_t bufsize);

/*
 * Derive the signing key (kSigning) for a date and service into out[32].
 * Exposed for the known-answer test; callers normally use tc3_sign().
 */
extern int	tc3_signing_key(const char *secret_key, size_t secret_key_len,
							const char *date, const char *service,
							unsigned char out[32]);

/* Compute the signature. Returns 0, or -1 on failure. */
extern int	tc3_sign(const Tc3Request *req,
					 const char *secret_key, size_t secret_key_len,
					 Tc3Signature *sig);

/*
 * The Authorization header value for a signature computed by tc3_sign():
 * "TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request,
 * SignedHeaders=<...>, Signature=<hex>".
 */
extern size_t tc3_authorization(const Tc3Request *req, const char *secret_id,
								const Tc3Signature *sig,
								char *buf, size_t bufsize);

/* Lowercase hex of SHA-256 over data; out gets 65 bytes. Returns 0 or -1. */
extern int	tc3_sha256_hex(const void *data, size_t len,
						   char out[TC3_HEX_LEN + 1]);

#endif							/* IAI_TC3_H */
