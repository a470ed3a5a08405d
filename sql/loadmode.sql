--
-- What each way of loading iai gives (the README's load-mode table): the
-- synchronous calls work in every mode; the statistics and the queue need
-- shared_preload_libraries and say so; credentials from the configuration
-- files are used only when the library is loaded at session start, since
-- until then every role can read them.
--
SELECT configured AS preloaded FROM iai_worker_status() \gset
SELECT :'preloaded' AS preloaded;
SELECT mock.reset();
SELECT mock.ctl('group?id=LoadMode&persons=m1,m2,m3,m4');

-- Synchronous calls: every mode.
SELECT iai_delete_person_from_group('m1', 'LoadMode') IS NOT NULL AS removed;

-- Statistics and queueing: preloaded only, else an ERROR naming
-- shared_preload_libraries (and nothing queued).
SELECT state, message, hint FROM mock.try($$SELECT count(*) FROM iai_stats$$);
DO $$
BEGIN   -- preloaded: let the worker start first (at most 30 s)
    FOR i IN 1..300 LOOP
        EXIT WHEN NOT (SELECT configured FROM iai_worker_status())
               OR (SELECT worker_alive FROM iai_queue_status);
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
BEGIN;
SELECT state, message, hint
FROM mock.try($$SELECT iai_enqueue_delete_person_from_group('m2', 'LoadMode')$$);
ROLLBACK;

-- Credentials in the configuration files (here postgresql.auto.conf).
-- The cluster's own credentials are in postgresql.conf when preloaded and
-- in the server's environment otherwise.
ALTER SYSTEM SET iai.secret_id = 'AKIDmockPermanentKey000000000000000001';
ALTER SYSTEM SET iai.secret_key = 'mockPermanentSecretKey00000000001';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
\c
SELECT state, message, detail, hint
FROM mock.try($$SELECT iai_delete_person_from_group('m3', 'LoadMode')$$);

-- session_preload_libraries loads iai before any query: they are used.
ALTER SYSTEM SET session_preload_libraries = 'iai';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
\c
SELECT iai_delete_person_from_group('m4', 'LoadMode') IS NOT NULL AS removed;
SELECT state, message FROM mock.try($$SELECT count(*) FROM iai_stats$$);

ALTER SYSTEM RESET session_preload_libraries;
ALTER SYSTEM RESET iai.secret_id;
ALTER SYSTEM RESET iai.secret_key;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
\c
SELECT count(*) AS requests, count(*) FILTER (WHERE verdict = 'OK') AS accepted
FROM mock.requests();
