-- bench/setup.sql: the objects the benchmark's sessions share, created once
-- in the throwaway cluster by bench/in-cluster.sh (after CREATE EXTENSION iai).

-- (c): every deleted row is one call
CREATE TABLE bench_people (id int PRIMARY KEY);
CREATE TRIGGER bench_people_iai AFTER DELETE ON bench_people
    FOR EACH ROW EXECUTE FUNCTION iai_delete_person_trigger('id', 'G');

-- Microseconds per call of one statement, timed inside the server (so
-- psql's start and round trips are not counted; nothing is subtracted).
CREATE FUNCTION bench_time(stmt text, calls int) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    EXECUTE stmt;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / calls;
END
$$;

-- (g): the same deletes in after-commit mode, where the trigger only queues
-- the calls; and a table without a trigger, to tell the DELETE's own cost
-- from the queueing's
CREATE TABLE bench_async (id int PRIMARY KEY);
CREATE TRIGGER bench_async_iai AFTER DELETE ON bench_async
    FOR EACH ROW EXECUTE FUNCTION iai_delete_person_trigger('id', 'G', 'async');
CREATE TABLE bench_plain (id int PRIMARY KEY);
-- what the async DELETE must write anyway: one queue row per call (the same
-- columns, defaults, constraint and indexes as iai_queue)
CREATE TABLE bench_queue_rows (LIKE iai_queue INCLUDING ALL);

-- (g), (h): wait until the worker has nothing left to send, then insist that
-- it delivered exactly `calls` since iai_queue was last emptied.  Commits
-- between polls: a snapshot held for the whole wait would keep every row
-- version the worker has finished with alive, and slow its claims down.
-- Polls sparingly, as the view counts the whole queue each time; the end of
-- the delivery is read from done_at, not from when a poll noticed it.
CREATE PROCEDURE bench_drain(calls int, timeout_s float8)
LANGUAGE plpgsql AS $$
DECLARE
    give_up timestamptz := clock_timestamp() + timeout_s * interval '1 s';
    s iai_queue_status;
BEGIN
    LOOP
        SELECT * INTO s FROM iai_queue_status;
        EXIT WHEN s.pending + s.sending = 0;
        IF clock_timestamp() > give_up THEN
            RAISE EXCEPTION 'the queue did not drain in % s: % pending, % sending, % done, % dead',
                timeout_s, s.pending, s.sending, s.done, s.dead
                USING DETAIL = format('worker alive: %s; last error: %s %s',
                                      s.worker_alive, s.last_error_code, s.last_error_message);
        END IF;
        COMMIT;
        PERFORM pg_sleep(0.1);
    END LOOP;
    IF s.done <> calls OR s.dead <> 0 THEN
        RAISE EXCEPTION 'the worker delivered % of % queued calls (% dead)', s.done, calls, s.dead
            USING DETAIL = format('last error: %s %s', s.last_error_code, s.last_error_message);
    END IF;
END
$$;
