--
-- iai_stats counts what the calls did; its numbers match the mock's own.
-- iai_debug_request shows what a call would send.
--
SELECT mock.reset();
SELECT mock.ctl('group?id=S&persons=s1,s2,s3,s4,s5,s6,s7,s8,s9,s10');
SELECT iai_stats_reset();
SELECT count(*) AS actions_after_reset FROM iai_stats;

-- Successes (8 calls in one statement: paced by iai.rate_limit = 50/s, so
-- the throttle makes them wait), API errors, a retried call, a failure.
SELECT count(iai_delete_person_from_group('s' || i, 'S')) FROM generate_series(1, 8) i;
SELECT state FROM mock.try($$SELECT iai_delete_person_from_group('s1', 'S')$$);
SELECT state FROM mock.try($$SELECT iai_delete_person_from_group('s1', 'NoSuchGroup')$$);
SELECT mock.fault('status', '&status=503');
SELECT iai_delete_person_from_group('s9', 'S') IS NOT NULL AS retried_and_done;
SELECT mock.fault('error', '&code=InternalError&count=3');
SELECT state FROM mock.try($$SELECT iai_delete_person_from_group('s10', 'S')$$);
SELECT iai_call('GetPersonGroupInfo', '{"PersonId": "s10"}') -> 'GroupNum' AS groups_of_s10;

-- Side by side with what the mock received.
SELECT action, calls, successes, failures, requests, retries, api_errors,
       errors_by_code, transport_errors,
       total_time_ms > 0 AS timed, max_time_ms <= total_time_ms AS max_ok,
       last_error, last_error_request_id
FROM iai_stats ORDER BY action;
-- the burst of 8 was paced: at least 7 of its requests waited for a slot
SELECT throttle_waits >= 7 AS paced, throttle_wait_ms > 0 AS waited
FROM iai_stats WHERE action = 'DeletePersonFromGroup';

SELECT s.action,
       s.requests = m.requests AS requests_match,
       s.api_errors = m.api_errors AS api_errors_match,
       s.errors_by_code = m.by_code AS codes_match,
       s.transport_errors = m.transport AS transport_match,
       s.requests - s.retries = s.calls AS first_attempts_match_calls
FROM iai_stats s
JOIN (SELECT action, count(*) AS requests,
             count(*) FILTER (WHERE verdict NOT IN ('OK', 'HTTP 503')) AS api_errors,
             count(*) FILTER (WHERE verdict = 'HTTP 503') AS transport,
             coalesce(jsonb_object_agg(verdict, n) FILTER (WHERE verdict NOT IN ('OK', 'HTTP 503')), '{}') AS by_code
      FROM (SELECT action, verdict, count(*) OVER (PARTITION BY action, verdict) AS n
            FROM mock.requests()) r
      GROUP BY action) m USING (action)
ORDER BY 1;

-- The last error's RequestId is the one the mock issued for it.
SELECT s.last_error_request_id = r.request_id AS same_request_id
FROM iai_stats s, mock.requests() r
WHERE s.action = 'DeletePersonFromGroup' AND r.seq = (SELECT max(seq) FROM mock.requests()
                                                      WHERE action = 'DeletePersonFromGroup');

-- Who may look: superusers and pg_read_all_stats; reset: superusers.
CREATE ROLE iai_monitor;
CREATE ROLE iai_nobody;
GRANT pg_read_all_stats TO iai_monitor;
SET ROLE iai_nobody;
SELECT count(*) FROM iai_stats;
SELECT iai_stats_reset();
SET ROLE iai_monitor;
SELECT count(*) > 0 AS can_read FROM iai_stats;
SELECT iai_stats_reset();
RESET ROLE;
DROP ROLE iai_monitor;
DROP ROLE iai_nobody;

-- iai_debug_request: the request a call would send at a given time, with
-- the shared vectors' key (its signature checked independently in Python).
SET iai.endpoint = 'https://iai.tencentcloudapi.com';
SET iai.secret_id = 'AKIDiaiAcceptanceEXAMPLE0000000000000';
SET iai.secret_key = 'iaiAcceptanceSecretKeyEXAMPLE000';
SELECT item, value FROM iai_debug_request('DeletePersonFromGroup',
    '{"PersonId": "person-0001", "GroupId": "group_A"}', 1700000000);
SELECT value LIKE '%Signature=93e942fd3893cd830780b22f0388ae9f7c9d622d3f46794f21a43615de582d12'
       AS matches_independent_signature
FROM iai_debug_request('DeletePersonFromGroup',
    '{"PersonId": "person-0001", "GroupId": "group_A"}', 1700000000)
WHERE value LIKE 'Authorization:%';
-- a token is never shown, nor is anything sent
SET iai.session_token = 'debug-token-never-shown';
SELECT value FROM iai_debug_request('DeletePersonFromGroup',
    '{"PersonId": "p", "GroupId": "g"}', 1700000000) WHERE value LIKE 'X-TC-Token%';
RESET iai.session_token;
RESET iai.secret_id;
RESET iai.secret_key;
RESET iai.endpoint;
SELECT count(*) AS requests_since FROM mock.requests()
WHERE body LIKE '%person-0001%';
-- superusers only
CREATE ROLE iai_debugger;
GRANT EXECUTE ON FUNCTION iai_debug_request(text, jsonb, bigint) TO iai_debugger;
SET ROLE iai_debugger;
SELECT * FROM iai_debug_request('DeletePersonFromGroup', '{"PersonId": "p", "GroupId": "g"}');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION iai_debug_request(text, jsonb, bigint) FROM iai_debugger;
DROP ROLE iai_debugger;
