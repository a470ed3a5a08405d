/* iai--1.1--1.2.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION iai UPDATE TO '1.2'" to load this file. \quit

-- Delivery paused for an outage (see the README's "When the service is
-- unreachable"): since when, why, and the next probe.
CREATE FUNCTION @extschema@.iai_worker_pause(
    OUT paused_since pg_catalog.timestamptz, OUT pause_reason pg_catalog.text,
    OUT next_probe_at pg_catalog.timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'iai_worker_pause'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

REVOKE ALL ON FUNCTION @extschema@.iai_worker_pause() FROM PUBLIC;

-- The same view with the pause at the end (so grants on it are kept).
CREATE OR REPLACE VIEW @extschema@.iai_queue_status AS
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
    w.last_heartbeat AS worker_heartbeat,
    p.paused_since,
    p.pause_reason,
    p.next_probe_at
FROM @extschema@.iai_worker_status() w
CROSS JOIN @extschema@.iai_worker_pause() p
LEFT JOIN LATERAL (
    SELECT q.last_error_code, q.last_error_message, q.last_attempt_at
    FROM @extschema@.iai_queue q
    WHERE q.last_error_message IS NOT NULL
      AND q.state OPERATOR(pg_catalog.<>) 'done'
    ORDER BY q.last_attempt_at DESC
    LIMIT 1) e ON true;

COMMENT ON VIEW @extschema@.iai_queue_status IS
'Queued calls by state, the oldest undelivered, the latest error, whether the worker is alive and whether it has paused delivery for an outage';

-- The worker keeps several calls in flight but never claims one while an
-- older call for the same PersonId is pending or being sent.
CREATE INDEX iai_queue_person ON @extschema@.iai_queue
    ((params OPERATOR(pg_catalog.->>) 'PersonId'), id)
    WHERE state IN ('pending', 'sending');
