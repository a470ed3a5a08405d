/*
 * sign.c - the project's TC3-HMAC-SHA256 signer alone (src/tc3.c): what
 * tc3_sign + tc3_authorization cost per request, with the body and host the
 * benchmark sends.  Also prints one Authorization for given inputs, so the
 * benchmark can check that its PL/Python signer computes the same thing.
 *
 * usage: sign ITERATIONS                           prints microseconds per op
 *        sign --auth ID KEY HOST TIMESTAMP PAYLOAD prints the Authorization
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tc3.h"

#define CONTENT_TYPE "application/json; charset=utf-8"

static size_t
authorization(const char *id, const char *key, const char *host,
			  int64_t timestamp, const char *payload, char *auth, size_t size)
{
	Tc3Request	req = {0};
	Tc3Signature sig;

	req.service = "iai";
	req.host = host;
	req.content_type = CONTENT_TYPE;
	req.payload = (const unsigned char *) payload;
	req.payload_len = strlen(payload);
	req.timestamp = timestamp;
	if (tc3_sign(&req, key, strlen(key), &sig) != 0)
	{
		fprintf(stderr, "sign: tc3_sign failed\n");
		exit(1);
	}
	return tc3_authorization(&req, id, &sig, auth, size);
}

int
main(int argc, char **argv)
{
	char		auth[1024], body[128];
	long		n;
	struct timespec t0, t1;

	if (argc == 7 && strcmp(argv[1], "--auth") == 0)
	{
		authorization(argv[2], argv[3], argv[4], atoll(argv[5]), argv[6], auth, sizeof(auth));
		printf("%s\n", auth);
		return 0;
	}
	if (argc != 2 || (n = atol(argv[1])) <= 0)
	{
		fprintf(stderr, "usage: sign ITERATIONS | sign --auth ID KEY HOST TIMESTAMP PAYLOAD\n");
		return 2;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 1; i <= n; i++)
	{
		snprintf(body, sizeof(body), "{\"GroupId\": \"G\", \"PersonId\": \"p%ld\"}", i);
		/* tc3.c is another translation unit: the calls cannot be optimised away */
		authorization("AKIDbench0000000000000000000000000000",
					  "benchSecretKey000000000000000000",
					  "127.0.0.1:58843", (int64_t) time(NULL), body, auth, sizeof(auth));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.3f\n", ((t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3) / n);
	return 0;
}
