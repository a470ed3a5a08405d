/*-------------------------------------------------------------------------
 *
 * tc3_kat.c
 *		Known-answer driver for the TC3 signer (src/tc3.c), linked without
 *		PostgreSQL.
 *
 * Reads one case per line on stdin and prints what the signer produced, so
 * that test/tc3_kat.py can compare it byte for byte with the vectors:
 *
 *	 in:  id secret_id secret_key host service timestamp content_type payload
 *		  n_extra [name value]...
 *	 out: id canonical_request string_to_sign signing_key signature
 *		  authorization signed_headers
 *
 * Every field but id, timestamp, n_extra, signing_key and signature is hex
 * encoded ("-" for the empty string), so any byte survives the trip.
 *
 *-------------------------------------------------------------------------
 */
#include "tc3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE (1 << 20)

static char *
unhex(const char *s, size_t *len)
{
	size_t		n = strcmp(s, "-") == 0 ? 0 : strlen(s) / 2;
	char	   *out = malloc(n + 1);

	for (size_t i = 0; i < n; i++)
	{
		unsigned int b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1)
		{
			fprintf(stderr, "bad hex field\n");
			exit(2);
		}
		out[i] = (char) b;
	}
	out[n] = '\0';
	if (len)
		*len = n;
	return out;
}

static void
puthex(const char *s, size_t n)
{
	if (n == 0)
		fputs("-", stdout);
	for (size_t i = 0; i < n; i++)
		printf("%02x", (unsigned char) s[i]);
}

static char *
next_field(char **save)
{
	char	   *f = strtok_r(NULL, " \n", save);

	if (f == NULL)
	{
		fprintf(stderr, "short line\n");
		exit(2);
	}
	return f;
}

int
main(void)
{
	static char line[MAX_LINE];
	static char creq[MAX_LINE];
	static char sts[4096];
	static char auth[4096];
	static char shdr[1024];

	while (fgets(line, sizeof(line), stdin))
	{
		char	   *save = NULL;
		char	   *id = strtok_r(line, " \n", &save);
		char	   *secret_id,
				   *secret_key;
		size_t		key_len,
					payload_len;
		Tc3Request	req = {0};
		Tc3Header	extra[TC3_MAX_EXTRA_HEADERS];
		Tc3Signature sig;
		unsigned char kkey[32];
		size_t		n;

		if (id == NULL)
			continue;
		secret_id = unhex(next_field(&save), NULL);
		secret_key = unhex(next_field(&save), &key_len);
		req.host = unhex(next_field(&save), NULL);
		req.service = unhex(next_field(&save), NULL);
		req.timestamp = strtoll(next_field(&save), NULL, 10);
		req.content_type = unhex(next_field(&save), NULL);
		req.payload = (unsigned char *) unhex(next_field(&save), &payload_len);
		req.payload_len = payload_len;
		req.n_extra_headers = atoi(next_field(&save));
		if (req.n_extra_headers < 0 || req.n_extra_headers > TC3_MAX_EXTRA_HEADERS)
			return 2;
		for (int i = 0; i < req.n_extra_headers; i++)
		{
			extra[i].name = unhex(next_field(&save), NULL);
			extra[i].value = unhex(next_field(&save), NULL);
		}
		req.extra_headers = extra;

		printf("%s ", id);
		n = tc3_canonical_request(&req, creq, sizeof(creq));
		puthex(creq, n);
		putchar(' ');
		n = tc3_string_to_sign(&req, sts, sizeof(sts));
		puthex(sts, n);
		putchar(' ');
		if (tc3_sign(&req, secret_key, key_len, &sig) != 0 ||
			tc3_signing_key(secret_key, key_len, sig.date, req.service, kkey) != 0)
		{
			printf("ERROR\n");
			continue;
		}
		for (int i = 0; i < 32; i++)
			printf("%02x", kkey[i]);
		printf(" %s ", sig.signature);
		n = tc3_authorization(&req, secret_id, &sig, auth, sizeof(auth));
		puthex(auth, n);
		putchar(' ');
		n = tc3_signed_headers(&req, shdr, sizeof(shdr));
		puthex(shdr, n);
		putchar('\n');
		/* the small leaks of each case end with the process */
	}
	return 0;
}
