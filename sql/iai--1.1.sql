/* iai--1.1.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION iai" to load this file. \quit

-- Every name below is schema-qualified, so the script means the same
-- whatever search_path the installing role has.

CREATE FUNCTION @extschema@.iai_call(action pg_catalog.text,
                                     params pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'iai_call'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.iai_call(pg_catalog.text, pg_catalog.jsonb) IS
'Call an IAI API 3.0 action (version 2018-03-01) with a signed request; returns the Response object';

CREATE FUNCTION @extschema@.iai_delete_person_from_group(person pg_catalog.text,
                                                         grp pg_catalog.text)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'iai_delete_person_from_group'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.iai_delete_person_from_group(pg_catalog.text, pg_catalog.text) IS
'Remove a person from a person group (DeletePersonFromGroup); returns the RequestId';

CREATE FUNCTION @extschema@.iai_delete_person_trigger()
RETURNS pg_catalog.trigger
AS 'MODULE_PATHNAME', 'iai_delete_person_trigger'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.iai_delete_person_trigger() IS
'AFTER DELETE/UPDATE row trigger: iai_delete_person_trigger(''person_column'', ''GroupId'' | ''column=group_column'' [, ''missing_ok''] [, ''async''])';

-- After-commit mode: the outbox, delivered by the background worker.
CREATE TABLE @extschema@.iai_queue (
    id bigserial PRIMARY KEY,
    action pg_catalog.text NOT NULL,
    params pg_catalog.jsonb NOT NULL,
    missing_ok pg_catalog.bool NOT NULL DEFAULT false,
    state pg_catalog.text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sending', 'done', 'dead')),
    attempts pg_catalog.int4 NOT NULL DEFAULT 0,
    in_doubt pg_catalog.bool NOT NULL DEFAULT false,
    next_attempt_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    enqueued_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    enqueued_by pg_catalog.text NOT NULL,
    last_attempt_at pg_catalog.timestamptz,
    done_at pg_catalog.timestamptz,
    request_id pg_catalog.text,
    last_error_code pg_catalog.text,
    last_error_message pg_catalog.text
);

COMMENT ON TABLE @extschema@.iai_queue IS
'Calls queued by iai_enqueue_*() and async triggers; sent after commit by the iai background worker';

CREATE INDEX iai_queue_due ON @extschema@.iai_queue (next_attempt_at, id)
    WHERE state = 'pending';
CREATE INDEX iai_queue_done ON @extschema@.iai_queue (done_at)
    WHERE state = 'done';

-- Queued calls are data: pg_dump keeps them.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.iai_queue', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.iai_queue_id_seq', '');

CREATE FUNCTION @extschema@.iai_enqueue_delete_person_from_group(person pg_catalog.text,
                                                                 grp pg_catalog.text)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'iai_enqueue_delete_person_from_group'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.iai_enqueue_delete_person_from_group(pg_catalog.text, pg_catalog.text) IS
'Queue DeletePersonFromGroup, to be sent after commit by the background worker; returns the queue id';

CREATE FUNCTION @extschema@.iai_queue_wake()
RETURNS pg_catalog.void
AS 'MODULE_PATHNAME', 'iai_queue_wake'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.iai_worker_status(
    OUT configured pg_catalog.bool, OUT pid pg_catalog.int4, OUT database pg_catalog.text,
    OUT started_at pg_catalog.timestamptz, OUT last_heartbeat pg_catalog.timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'iai_worker_status'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.iai_queue_retry(id pg_catalog.int8)
RETURNS pg_catalog.bool
LANGUAGE sql VOLATILE PARALLEL UNSAFE
AS $$
    SELECT @extschema@.iai_queue_wake();
    WITH r AS (
        UPDATE @extschema@.iai_queue q
        SET state = 'pending', attempts = 0, next_attempt_at = pg_catalog.now()
        WHERE q.id OPERATOR(pg_catalog.=) $1 AND q.state OPERATOR(pg_catalog.=) 'dead'
        RETURNING 1)
    SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 FROM r;
$$;

COMMENT ON FUNCTION @extschema@.iai_queue_retry(pg_catalog.int8) IS
'Send a dead-lettered queued call again; false if the row is not dead';

CREATE FUNCTION @extschema@.iai_queue_retry_failed()
RETURNS pg_catalog.int8
LANGUAGE sql VOLATILE PARALLEL UNSAFE
AS $$
    SELECT @extschema@.iai_queue_wake();
    WITH r AS (
        UPDATE @extschema@.iai_queue q
        SET state = 'pending', attempts = 0, next_attempt_at = pg_catalog.now()
        WHERE q.state OPERATOR(pg_catalog.=) 'dead'
        RETURNING 1)
    SELECT pg_catalog.count(*) FROM r;
$$;

COMMENT ON FUNCTION @extschema@.iai_queue_retry_failed() IS
'Send every dead-lettered queued call again; returns how many';

CREATE VIEW @extschema@.iai_queue_status AS
SELECT
    (SELECT pg_catalog.count(*) FROM @extschema@.iai_queue q
      WHERE q.state OPERATOR(pg_catalog.=) 'pending') AS pending,
    (SELECT pg_catalog.count(*) FROM @extschema@.iai_queue q
      WHERE q.state OPERATOR(pg_catalog.=) 'sending') AS sending,
    (SELECT pg_catalog.count(*) FROM @extschema@.iai_queue q
      WHERE q.state OPERATOR(pg_catalog.=) 'done') AS done,
    (SELECT pg_catalog.count(*) FROM @extschema@.iai_queue q
      WHERE q.state OPERATOR(pg_catalog.=) 'dead') AS dead,
    (SELECT pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.min(q.enqueued_at)
       FROM @extschema@.iai_queue q
      WHERE q.state OPERATOR(pg_catalog.=) ANY (ARRAY['pending', 'sending'])) AS oldest_pending_age,
    e.last_error_code,
    e.last_error_message,
    e.last_attempt_at AS last_error_at,
    w.pid IS NOT NULL AS worker_alive,
    w.pid AS worker_pid,
    w.database AS worker_database,
    w.last_heartbeat AS worker_heartbeat
FROM @extschema@.iai_worker_status() w
LEFT JOIN LATERAL (
    SELECT q.last_error_code, q.last_error_message, q.last_attempt_at
    FROM @extschema@.iai_queue q
    WHERE q.last_error_message IS NOT NULL
      AND q.state OPERATOR(pg_catalog.<>) 'done'
    ORDER BY q.last_attempt_at DESC
    LIMIT 1) e ON true;

COMMENT ON VIEW @extschema@.iai_queue_status IS
'Queued calls by state, the oldest undelivered, the latest error and whether the worker is alive';

-- Calls go out with the server's credentials: only roles granted EXECUTE
-- may make them.
REVOKE ALL ON FUNCTION @extschema@.iai_call(pg_catalog.text, pg_catalog.jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.iai_delete_person_from_group(pg_catalog.text, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.iai_delete_person_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.iai_enqueue_delete_person_from_group(pg_catalog.text, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.iai_queue_wake() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.iai_worker_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.iai_queue_retry(pg_catalog.int8) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.iai_queue_retry_failed() FROM PUBLIC;
REVOKE ALL ON TABLE @extschema@.iai_queue FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.iai_queue_id_seq FROM PUBLIC;
REVOKE ALL ON @extschema@.iai_queue_status FROM PUBLIC;

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
