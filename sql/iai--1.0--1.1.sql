/* iai--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION iai UPDATE TO '1.1'" to load this file. \quit

-- Who enqueued: a role name as text (a name column takes 64 bytes a row).
ALTER TABLE @extschema@.iai_queue ALTER COLUMN enqueued_by TYPE pg_catalog.text;

-- Monitoring: what the calls did, per action (needs shared_preload_libraries).
CREATE FUNCTION @extschema@.iai_stats(
    OUT action pg_catalog.text,
    OUT calls pg_catalog.int8,
    OUT successes pg_catalog.int8,
    OUT failures pg_catalog.int8,
    OUT requests pg_catalog.int8,
    OUT retries pg_catalog.int8,
    OUT api_errors pg_catalog.int8,
    OUT errors_by_code pg_catalog.jsonb,
    OUT transport_errors pg_catalog.int8,
    OUT throttle_waits pg_catalog.int8,
    OUT throttle_wait_ms pg_catalog.float8,
    OUT total_time_ms pg_catalog.float8,
    OUT max_time_ms pg_catalog.float8,
    OUT last_error pg_catalog.text,
    OUT last_error_request_id pg_catalog.text,
    OUT last_error_at pg_catalog.timestamptz,
    OUT stats_reset pg_catalog.timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'iai_stats'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW @extschema@.iai_stats AS
SELECT s.action, s.calls, s.successes, s.failures, s.requests, s.retries,
       s.api_errors, s.errors_by_code, s.transport_errors,
       s.throttle_waits, s.throttle_wait_ms, s.total_time_ms,
       CASE WHEN s.calls OPERATOR(pg_catalog.>) 0
            THEN s.total_time_ms OPERATOR(pg_catalog./) s.calls END AS mean_time_ms,
       s.max_time_ms, s.last_error, s.last_error_request_id, s.last_error_at,
       s.stats_reset
FROM @extschema@.iai_stats() s;

COMMENT ON VIEW @extschema@.iai_stats IS
'Calls, outcomes, API error codes, retries, throttling and latency per action, since the last iai_stats_reset()';

CREATE FUNCTION @extschema@.iai_stats_reset()
RETURNS pg_catalog.void
AS 'MODULE_PATHNAME', 'iai_stats_reset'
LANGUAGE C VOLATILE PARALLEL SAFE;

-- Debug aid for AuthFailure.SignatureFailure: what a call would send.
CREATE FUNCTION @extschema@.iai_debug_request(action pg_catalog.text,
                                              params pg_catalog.jsonb DEFAULT '{}',
                                              at pg_catalog.int8 DEFAULT NULL)
RETURNS TABLE (item pg_catalog.text, value pg_catalog.text)
AS 'MODULE_PATHNAME', 'iai_debug_request'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.iai_debug_request(pg_catalog.text, pg_catalog.jsonb, pg_catalog.int8) IS
'Superuser debug aid: canonical request, string to sign and headers a call would send (at a given Unix time); sends nothing, shows no secret';

REVOKE ALL ON FUNCTION @extschema@.iai_stats() FROM PUBLIC;
REVOKE ALL ON @extschema@.iai_stats FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.iai_stats_reset() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.iai_debug_request(pg_catalog.text, pg_catalog.jsonb, pg_catalog.int8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.iai_stats() TO pg_read_all_stats;
GRANT SELECT ON @extschema@.iai_stats TO pg_read_all_stats;
