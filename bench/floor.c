/*
 * floor.c - the benchmark's floor: N signed DeletePersonFromGroup POSTs from
 * plain C, with the project's TC3 signer, libcurl and OpenSSL, and nothing
 * else.  The same URL, headers and body shape as the extension, one reused
 * easy handle (so one TCP + TLS connection for the whole loop), and no
 * parsing of the answer beyond its HTTP status: what a call costs at the
 * least on this machine against this endpoint.
 *
 * usage: floor URL CA_FILE N SECRET_ID SECRET_KEY
 * prints: <microseconds per call> <connections opened>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "tc3.h"

#define CONTENT_TYPE "application/json; charset=utf-8"

/* The answer is not parsed: its status alone is checked. */
static size_t
discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void) ptr;
	(void) userdata;
	return size * nmemb;
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int
main(int argc, char **argv)
{
	const char *url, *ca_file, *secret_id, *secret_key, *h;
	long		n, connections = 0;
	char		host[256], body[128], auth[1024], line[1200];
	CURL	   *curl;
	double		start;

	if (argc != 6)
	{
		fprintf(stderr, "usage: floor URL CA_FILE N SECRET_ID SECRET_KEY\n");
		return 2;
	}
	url = argv[1];
	ca_file = argv[2];
	n = atol(argv[3]);
	secret_id = argv[4];
	secret_key = argv[5];

	/* Host header as the extension sends it: host[:port] of the URL */
	h = strstr(url, "://");
	h = h ? h + 3 : url;
	snprintf(host, sizeof(host), "%.*s", (int) strcspn(h, "/"), h);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();
	if (curl == NULL)
		return 1;
	/* set once: the handle keeps its connection from call to call */
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "iai/1.0 (PostgreSQL extension)");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);

	start = now_us();
	for (long i = 1; i <= n; i++)
	{
		Tc3Request	req = {0};
		Tc3Signature sig;
		struct curl_slist *headers = NULL;
		int			len;
		long		status = 0, connects = 0;
		CURLcode	rc;

		/* the body the extension builds: jsonb's output of {PersonId, GroupId} */
		len = snprintf(body, sizeof(body), "{\"GroupId\": \"G\", \"PersonId\": \"p%ld\"}", i);
		req.service = "iai";
		req.host = host;
		req.content_type = CONTENT_TYPE;
		req.payload = (const unsigned char *) body;
		req.payload_len = (size_t) len;
		req.timestamp = (int64_t) time(NULL);
		if (tc3_sign(&req, secret_key, strlen(secret_key), &sig) != 0 ||
			tc3_authorization(&req, secret_id, &sig, auth, sizeof(auth)) >= sizeof(auth))
		{
			fprintf(stderr, "floor: signing failed\n");
			return 1;
		}

		snprintf(line, sizeof(line), "Host: %s", host);
		headers = curl_slist_append(headers, line);
		headers = curl_slist_append(headers, "Content-Type: " CONTENT_TYPE);
		headers = curl_slist_append(headers, "X-TC-Action: DeletePersonFromGroup");
		headers = curl_slist_append(headers, "X-TC-Version: 2018-03-01");
		snprintf(line, sizeof(line), "X-TC-Timestamp: %lld", (long long) req.timestamp);
		headers = curl_slist_append(headers, line);
		snprintf(line, sizeof(line), "Authorization: %s", auth);
		headers = curl_slist_append(headers, line);
		headers = curl_slist_append(headers, "Expect:");

		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long) len);
		rc = curl_easy_perform(curl);
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
		curl_slist_free_all(headers);
		if (rc != CURLE_OK || status != 200)
		{
			fprintf(stderr, "floor: call %ld: %s, HTTP %ld\n", i, curl_easy_strerror(rc), status);
			return 1;
		}
		connections += connects;
	}
	printf("%.3f %ld\n", (now_us() - start) / (double) n, connections);

	curl_easy_cleanup(curl);
	curl_global_cleanup();
	return 0;
}
