#!/usr/bin/env bash
# After-commit mode under trouble: an uncommitted enqueue is invisible to the
# worker; the worker down, the endpoint down and the endpoint throttling are
# each visible in iai_queue_status and recover without manual steps.  Runs
# inside pg_virtualenv (iai.database_name = contrib_regression).
set -euo pipefail
. "$(dirname "$0")/tap.sh"

work=$(mktemp -d /tmp/iai-queue.XXXXXX)
chmod 755 "$work"
spare_pid=
cleanup() {
	[ -n "$spare_pid" ] && kill "$spare_pid" 2>/dev/null
	psql -X -q -c "ALTER SYSTEM RESET iai.endpoint" -c "SELECT pg_reload_conf()" >/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

idle="NOT EXISTS (SELECT FROM iai_queue WHERE state IN ('pending', 'sending'))"

wait_until "(SELECT worker_alive FROM iai_queue_status)" 30
mock_ctl reset >/dev/null
mock_ctl "group?id=W&persons=i1,i2,w1,w2,d1,d2,d3,t1,t2,t3,t4,t5,t6,t7,t8,t9,t10" >/dev/null

# 1. The worker never sees an uncommitted enqueue.
psql -X -q -At -d "$db" >/dev/null <<'SQL' &
BEGIN;
SELECT iai_enqueue_delete_person_from_group('i1', 'W');
SELECT pg_sleep(3);
COMMIT;
SQL
open_tx=$!
psql -X -q -At -d "$db" >/dev/null <<'SQL' &
BEGIN;
SELECT iai_enqueue_delete_person_from_group('i2', 'W');
SELECT pg_sleep(3);
ROLLBACK;
SQL
aborted_tx=$!
sleep 1.5
is "$(mock_ctl count)" "0" "an enqueue not yet committed is not sent (worker awake, 1.5 s later)"
is "$(q "SELECT count(*) FROM iai_queue WHERE params->>'PersonId' IN ('i1', 'i2')")" "0" "... nor visible to other sessions"
wait "$open_tx" "$aborted_tx"
wait_until "$idle" 30
is "$(q "SELECT state FROM iai_queue WHERE params->>'PersonId' = 'i1'")" "done" "once committed it is delivered"
sleep 1
is "$(curl -sS "$mock_url/_mock/log" | grep -c '"i2"' || true)" "0" "the rolled-back enqueue is never sent"

# 2. The worker down.
pid=$(q "SELECT worker_pid FROM iai_queue_status")
q "SELECT pg_terminate_backend($pid)" >/dev/null
ok "wait_until 'NOT (SELECT worker_alive FROM iai_queue_status)' 5" "a terminated worker shows as not alive in iai_queue_status"
out=$(psql -X -q -At -d "$db" -c "SELECT iai_enqueue_delete_person_from_group('w1', 'W') > 0" 2>&1)
like "$out" 'WARNING:  the iai background worker is not running' "enqueueing while it is down warns"
like "$out" '(^|\n)t$' "... and still queues the call"
ok "wait_until \"(SELECT worker_alive FROM iai_queue_status) AND $idle\" 30" "the worker comes back by itself and delivers"
is "$(q "SELECT state FROM iai_queue WHERE params->>'PersonId' = 'w1'")" "done" "... the call queued while it was down"

# 3. The endpoint down: a second mock we can stop and start.
spare_port=31090
start_spare "W=d1,d2,d3"
psql -X -q -c "ALTER SYSTEM SET iai.endpoint = 'http://127.0.0.1:$spare_port'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
q "SELECT iai_enqueue_delete_person_from_group('d1', 'W')" >/dev/null
wait_until "$idle" 30 || true
is "$(q "SELECT state FROM iai_queue WHERE params->>'PersonId' = 'd1'")" "done" "the worker follows iai.endpoint after a reload (SIGHUP)"

kill "$spare_pid"; wait "$spare_pid" 2>/dev/null || true
spare_pid=
q "SELECT iai_enqueue_delete_person_from_group('d2', 'W')" >/dev/null
q "SELECT iai_enqueue_delete_person_from_group('d3', 'W')" >/dev/null
ok "wait_until \"(SELECT last_error_code = '08001' AND pending + sending = 2 AND worker_alive FROM iai_queue_status)\" 30" \
	"the endpoint down: the calls wait, with the connection error in iai_queue_status"
start_spare "W=d2,d3"
ok "wait_until \"$idle\" 60" "the endpoint back: the calls are delivered without manual steps"
is "$(q "SELECT string_agg(state, ',' ORDER BY id) FROM iai_queue WHERE params->>'PersonId' IN ('d2', 'd3')")" "done,done" "... both of them"
psql -X -q -c "ALTER SYSTEM RESET iai.endpoint" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5

# 4. The endpoint throttling.
mock_ctl "config?rate_limit=2" >/dev/null
q "SELECT count(iai_enqueue_delete_person_from_group('t' || i, 'W')) FROM generate_series(1, 10) i" >/dev/null
ok "wait_until \"(SELECT last_error_code = 'RequestLimitExceeded' FROM iai_queue_status)\" 30" \
	"the endpoint throttling shows in iai_queue_status"
mock_ctl "config?rate_limit=0" >/dev/null
ok "wait_until \"$idle\" 60" "throttling over: the queue drains by itself"
is "$(q "SELECT count(*) FILTER (WHERE state = 'done') || '/' || count(*) FROM iai_queue WHERE params->>'PersonId' LIKE 't%'")" "10/10" "... every throttled call delivered, none dead"

done_testing
