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
