--
-- After-commit mode: calls queued in the transaction, sent by the
-- background worker once it commits.
--
SELECT mock.reset();
SELECT mock.ctl('group?id=G&persons=q1,q2,q3,q4,q5,q6,q7,q8');

-- Wait (at most 30 s) until the worker runs, then until the queue is idle.
CREATE FUNCTION mock.wait_for_worker() RETURNS bool
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT (SELECT configured FROM iai_worker_status()) THEN
        RETURN false;           -- not preloaded: no worker will come
    END IF;
    FOR i IN 1..300 LOOP
        IF (SELECT worker_alive FROM iai_queue_status) THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN false;
END
$$;
CREATE FUNCTION mock.wait_for_queue() RETURNS bool
LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..300 LOOP
        IF NOT EXISTS (SELECT FROM iai_queue
                       WHERE state = 'sending'
                          OR state = 'pending' AND next_attempt_at < clock_timestamp() + interval '5 s') THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN false;
END
$$;

-- Queueing needs the worker, so iai in shared_preload_libraries.
SELECT NOT configured AS not_preloaded FROM iai_worker_status() \gset
\if :not_preloaded
SELECT iai_enqueue_delete_person_from_group('q1', 'G');
\quit
\endif

SELECT mock.wait_for_worker() AS worker_running;
SELECT worker_database, worker_pid IS NOT NULL AS has_pid FROM iai_queue_status;

-- An enqueue returns the queue id; nothing is sent before commit.
BEGIN;
SELECT iai_enqueue_delete_person_from_group('q1', 'G') > 0 AS queued;
SELECT pg_sleep(0.5);
SELECT mock.count() AS sent_before_commit;
COMMIT;
SELECT mock.wait_for_queue();
SELECT state, attempts, request_id, last_error_code FROM iai_queue ORDER BY id;
SELECT verdict, person FROM mock.requests();

-- A rolled-back enqueue leaves nothing behind and is never sent.
BEGIN;
SELECT iai_enqueue_delete_person_from_group('q2', 'G') > 0 AS queued;
ROLLBACK;
SELECT pg_sleep(0.5);
SELECT count(*) AS rows_from_rollback FROM iai_queue WHERE params ->> 'PersonId' = 'q2';
SELECT count(*) AS sent_for_rollback FROM mock.requests() WHERE person = 'q2';

-- Savepoints: calls of a rolled-back subtransaction vanish, those of a
-- released one stay; so do those of an exception block that caught an error.
SELECT mock.ctl('group?id=G&persons=sp1,sp2,sp3,sp4');
BEGIN;
SELECT iai_enqueue_delete_person_from_group('sp1', 'G') > 0 AS queued;
SAVEPOINT a;
SELECT iai_enqueue_delete_person_from_group('sp2', 'G') > 0 AS queued;
ROLLBACK TO SAVEPOINT a;
SAVEPOINT b;
SELECT iai_enqueue_delete_person_from_group('sp3', 'G') > 0 AS queued;
RELEASE SAVEPOINT b;
DO $$
BEGIN
    PERFORM iai_enqueue_delete_person_from_group('sp4', 'G');
    RAISE EXCEPTION 'undo';
EXCEPTION WHEN raise_exception THEN
    NULL;
END
$$;
COMMIT;
SELECT mock.wait_for_queue();
SELECT params ->> 'PersonId' AS person, state FROM iai_queue
WHERE params ->> 'PersonId' LIKE 'sp%' ORDER BY id;
SELECT person, verdict FROM mock.requests() WHERE person LIKE 'sp%' ORDER BY seq;

-- Bad input is refused at enqueue time, as for the synchronous call.
SELECT state, message FROM mock.try($$SELECT iai_enqueue_delete_person_from_group('q 1', 'G')$$);
SELECT state, message FROM mock.try($$SELECT iai_enqueue_delete_person_from_group(NULL, 'G')$$);
SELECT count(*) AS queued_rows FROM iai_queue;

-- The async trigger option: the DELETE commits without calling out.
CREATE TABLE leavers (person_id text PRIMARY KEY);
INSERT INTO leavers VALUES ('q3'), ('q4'), ('q5'), ('q9');
CREATE TRIGGER leavers_iai AFTER DELETE ON leavers FOR EACH ROW
    EXECUTE FUNCTION iai_delete_person_trigger('person_id', 'G', 'async');
DELETE FROM leavers WHERE person_id IN ('q3', 'q4', 'q5', 'q9');
SELECT mock.wait_for_queue();
SELECT params ->> 'PersonId' AS person, state, attempts, last_error_code
FROM iai_queue WHERE params ->> 'PersonId' <> 'q1' ORDER BY id;

-- q9 is in no group: dead-lettered at once (another attempt cannot help),
-- visible in the status view.
SELECT pending, sending, done, dead, last_error_code, worker_alive FROM iai_queue_status;

-- Repair: once the person exists, a retry delivers it.
SELECT mock.ctl('group?id=G&persons=q9');
SELECT iai_queue_retry(id) FROM iai_queue WHERE state = 'dead';
SELECT iai_queue_retry(id) FROM iai_queue WHERE state = 'done' LIMIT 1;
SELECT mock.wait_for_queue();
SELECT params ->> 'PersonId' AS person, state, attempts FROM iai_queue
WHERE params ->> 'PersonId' = 'q9';

-- missing_ok with async: already gone counts as done.
CREATE TABLE leavers2 (person_id text);
INSERT INTO leavers2 VALUES ('q3'), ('q6');
CREATE TRIGGER leavers2_iai AFTER DELETE ON leavers2 FOR EACH ROW
    EXECUTE FUNCTION iai_delete_person_trigger('person_id', 'G', 'missing_ok', 'async');
DELETE FROM leavers2;
SELECT mock.wait_for_queue();
SELECT params ->> 'PersonId' AS person, state, last_error_code FROM iai_queue
WHERE params ->> 'PersonId' IN ('q3', 'q6') AND missing_ok ORDER BY id;

-- An outage (four HTTP 503 answers) pauses delivery instead of spending the
-- row's attempts: probes at growing intervals, then the fifth request
-- delivers it, on its first counted attempt.
SELECT mock.fault('status', '&status=503&count=4');
SELECT iai_enqueue_delete_person_from_group('q7', 'G') > 0 AS queued;
SELECT mock.wait_for_queue();
SELECT state, attempts, in_doubt, last_error_code FROM iai_queue
WHERE params ->> 'PersonId' = 'q7';

-- iai_queue_retry_failed() requeues every dead letter.
SELECT iai_enqueue_delete_person_from_group('nobody1', 'G') > 0 AS queued;
SELECT iai_enqueue_delete_person_from_group('nobody2', 'G') > 0 AS queued;
SELECT mock.wait_for_queue();
SELECT count(*) AS dead FROM iai_queue WHERE state = 'dead';
SELECT mock.ctl('group?id=G&persons=nobody1,nobody2');
SELECT iai_queue_retry_failed();
SELECT mock.wait_for_queue();
SELECT pending, sending, dead, worker_alive FROM iai_queue_status;

-- Ordinary roles need EXECUTE on the function only, not rights on the queue.
CREATE ROLE iai_async_app;
GRANT EXECUTE ON FUNCTION iai_enqueue_delete_person_from_group(text, text) TO iai_async_app;
SET ROLE iai_async_app;
SELECT iai_enqueue_delete_person_from_group('q8', 'G') > 0 AS queued;
SELECT count(*) FROM iai_queue;
SELECT * FROM iai_queue_status;
RESET ROLE;
SELECT mock.wait_for_queue();
SELECT state, enqueued_by FROM iai_queue WHERE params ->> 'PersonId' = 'q8';
REVOKE EXECUTE ON FUNCTION iai_enqueue_delete_person_from_group(text, text) FROM iai_async_app;
DROP ROLE iai_async_app;

SELECT mock.state();
