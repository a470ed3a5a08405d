#!/usr/bin/env bash
# A call in flight stops at once for pg_cancel_backend, statement_timeout and
# pg_terminate_backend, with PostgreSQL's own errors, and the backend (after
# a cancel) goes on working.  Runs inside pg_virtualenv.
set -euo pipefail
. "$(dirname "$0")/tap.sh"

work=$(mktemp -d /tmp/iai-cancel.XXXXXX)
trap 'rm -rf "$work"' EXIT

mock_ctl reset >/dev/null
mock_ctl "group?id=G&persons=c1,c2,c3,c4,c5,c6" >/dev/null

psql -X -q -d "$db" <<'SQL'
-- Wait until the session named app is running a statement containing mark,
-- let it settle into its wait, signal it, and return the milliseconds until
-- it is no longer running that statement.
CREATE OR REPLACE FUNCTION public.iai_test_signal(app text, mark text, how text)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    p int;
    t0 timestamptz;
    busy bool;
BEGIN
    FOR i IN 1..2000 LOOP
        PERFORM pg_stat_clear_snapshot();
        SELECT pid INTO p FROM pg_stat_activity
        WHERE application_name = app AND state = 'active' AND query LIKE '%' || mark || '%';
        EXIT WHEN p IS NOT NULL;
        PERFORM pg_sleep(0.01);
    END LOOP;
    IF p IS NULL THEN
        RAISE EXCEPTION 'session % never ran %', app, mark;
    END IF;
    PERFORM pg_sleep(0.5);
    t0 := clock_timestamp();
    IF how = 'cancel' THEN
        PERFORM pg_cancel_backend(p);
    ELSE
        PERFORM pg_terminate_backend(p);
    END IF;
    LOOP
        PERFORM pg_stat_clear_snapshot();
        SELECT state = 'active' AND query LIKE '%' || mark || '%' INTO busy
        FROM pg_stat_activity WHERE pid = p;
        EXIT WHEN busy IS NOT TRUE;
        PERFORM pg_sleep(0.001);
    END LOOP;
    RETURN round(extract(epoch FROM clock_timestamp() - t0) * 1000);
END
$$;
SQL

# 1. pg_cancel_backend against a server that never answers
mock_ctl "fault?kind=hang&count=1" >/dev/null
psql -X -q -At -d "$db" > "$work/victim.out" 2>&1 <<'SQL' &
SET application_name = 'victim';
SET iai.timeout_ms = '60s';
\set VERBOSITY sqlstate
SELECT iai_delete_person_from_group('c1', 'G') AS first;
SELECT iai_delete_person_from_group('c2', 'G') IS NOT NULL AS next_call_works;
SQL
victim=$!
ms=$(psql -X -At -d "$db" -c "SELECT public.iai_test_signal('victim', '''c1''', 'cancel')")
wait "$victim" || true
echo "# cancel took ${ms} ms"
ok "[ $ms -le 100 ]" "pg_cancel_backend stops a hung call within 100 ms (${ms} ms)"
like "$(cat "$work/victim.out")" 'ERROR:  57014' "... with SQLSTATE 57014 (query_canceled)"
like "$(cat "$work/victim.out")" '^t$' "... and the next call on the same backend works"

# 2. statement_timeout
mock_ctl "fault?kind=hang&count=1" >/dev/null
out=$(psql -X -q -At -d "$db" 2>&1 <<'SQL'
SET iai.timeout_ms = '60s';
SET statement_timeout = '300ms';
\set VERBOSITY sqlstate
SELECT clock_timestamp() AS t0 \gset
SELECT iai_delete_person_from_group('c3', 'G');
SELECT 'elapsed ' || round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);
RESET statement_timeout;
SELECT iai_delete_person_from_group('c3', 'G') IS NOT NULL AS next_call_works;
SQL
)
elapsed=$(printf '%s\n' "$out" | sed -n 's/^elapsed //p')
echo "# statement_timeout = 300 ms ended the call after ${elapsed} ms"
like "$out" 'ERROR:  57014' "statement_timeout cancels a hung call with SQLSTATE 57014"
ok "[ $elapsed -ge 300 ] && [ $((elapsed - 300)) -le 100 ]" "... within 100 ms of the timeout (${elapsed} ms for 300 ms)"
like "$out" '(^|\n)t$' "... and the next call on the same backend works"

# 3. cancel while waiting to retry (throttled answers, backoff of 1 s or more)
mock_ctl "fault?kind=throttle&count=3" >/dev/null
psql -X -q -At -d "$db" > "$work/victim.out" 2>&1 <<'SQL' &
SET application_name = 'victim';
\set VERBOSITY sqlstate
SELECT iai_delete_person_from_group('c4', 'G') AS first;
SQL
victim=$!
ms=$(psql -X -At -d "$db" -c "SELECT public.iai_test_signal('victim', '''c4''', 'cancel')")
wait "$victim" || true
echo "# cancel during backoff took ${ms} ms"
ok "[ $ms -le 100 ]" "a cancel interrupts the wait between retries within 100 ms (${ms} ms)"
like "$(cat "$work/victim.out")" 'ERROR:  57014' "... with SQLSTATE 57014"
mock_ctl reset >/dev/null
mock_ctl "group?id=G&persons=c5,c6" >/dev/null

# 4. pg_terminate_backend
mock_ctl "fault?kind=hang&count=1" >/dev/null
psql -X -q -At -d "$db" > "$work/victim.out" 2>&1 <<'SQL' &
SET application_name = 'victim';
SET iai.timeout_ms = '60s';
\set VERBOSITY sqlstate
SELECT iai_delete_person_from_group('c5', 'G');
SQL
victim=$!
ms=$(psql -X -At -d "$db" -c "SELECT public.iai_test_signal('victim', '''c5''', 'terminate')")
wait "$victim" || true
echo "# terminate took ${ms} ms"
ok "[ $ms -le 100 ]" "pg_terminate_backend ends a hung call within 100 ms (${ms} ms)"
like "$(cat "$work/victim.out")" 'FATAL:  57P01' "... with SQLSTATE 57P01 (admin_shutdown)"
out=$(psql -X -q -At -d "$db" -c "SELECT iai_delete_person_from_group('c6', 'G') IS NOT NULL")
is "$out" "t" "other sessions are unaffected"

psql -X -q -d "$db" -c "DROP FUNCTION public.iai_test_signal(text, text, text)"
done_testing
