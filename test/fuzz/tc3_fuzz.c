/*-------------------------------------------------------------------------
 *
 * tc3_fuzz.c
 *		libFuzzer target: the TC3 signer (src/tc3.c) on arbitrary inputs.
 *
 * The input is split on NUL bytes into secret key, host, content type,
 * extra header names and values, and payload; the timestamp comes from the
 * first eight bytes.  Whatever the input, the signer must not crash or
 * overrun, the canonical request it shows must hash to what it signs (the
 * string to sign embeds that hash), and the answers must not depend on
 * the size of the caller's buffer beyond truncation.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tc3.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Next NUL-terminated piece of the input (the input is copied first). */
static char *
piece(char **cursor, char *end)
{
	char	   *p = *cursor;

	if (p >= end)
		return NULL;
	*cursor = p + strlen(p) + 1;
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char creq[1 << 16];
	static char small[64];
	static char sts[512];
	static char auth[4096];
	char	   *copy,
			   *cursor,
			   *end,
			   *key;
	Tc3Request	req = {0};
	Tc3Header	extra[TC3_MAX_EXTRA_HEADERS];
	Tc3Signature sig;
	int64_t		ts = 0;
	size_t		n,
				m;

	if (size < 8)
		return 0;
	memcpy(&ts, data, 8);
	copy = malloc(size - 8 + 1);
	memcpy(copy, data + 8, size - 8);
	copy[size - 8] = '\0';
	cursor = copy;
	end = copy + (size - 8);

	key = piece(&cursor, end);
	req.service = "iai";
	req.host = piece(&cursor, end);
	req.content_type = piece(&cursor, end);
	req.timestamp = ts;
	for (int i = 0; i < 2; i++)
	{
		char	   *name = piece(&cursor, end);
		char	   *value = piece(&cursor, end);

		if (name == NULL || value == NULL || name[0] == '\0')
			break;
		extra[req.n_extra_headers].name = name;
		extra[req.n_extra_headers].value = value;
		req.n_extra_headers++;
	}
	req.extra_headers = extra;
	if (cursor < end)
	{
		req.payload = (const unsigned char *) cursor;
		req.payload_len = end - cursor;
	}

	n = tc3_canonical_request(&req, creq, sizeof(creq));
	m = tc3_canonical_request(&req, small, sizeof(small));
	if (n != m || (n > 0 && n < sizeof(creq) && strncmp(creq, small, sizeof(small) - 1) != 0))
		__builtin_trap();
	if (n > 0 && n < sizeof(creq) && tc3_string_to_sign(&req, sts, sizeof(sts)) > 0)
	{
		char		hash[TC3_HEX_LEN + 1];
		size_t		stslen = strlen(sts);

		if (tc3_sha256_hex(creq, n, hash) != 0 || stslen < TC3_HEX_LEN ||
			strcmp(sts + stslen - TC3_HEX_LEN, hash) != 0)
			__builtin_trap();
	}
	if (key != NULL && tc3_sign(&req, key, strlen(key), &sig) == 0)
	{
		if (strlen(sig.signature) != TC3_HEX_LEN)
			__builtin_trap();
		(void) tc3_authorization(&req, "AKIDfuzz", &sig, auth, sizeof(auth));
	}
	free(copy);
	return 0;
}
