#!/usr/bin/env bash
# The queue worker and signals: pg_terminate_backend ends it promptly even
# while it waits for a lock; a call it never sent -- it was waiting for its
# rate-limit slot when cancelled or terminated -- goes back to the queue as
# it was, not "in doubt" and without spending an attempt.  Runs inside
# pg_virtualenv, preloaded.
set -euo pipefail
. "$(dirname "$0")/tap.sh"

holder=
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	set_rate_limit default
}
trap cleanup EXIT
idle="NOT EXISTS (SELECT FROM iai_queue WHERE state IN ('pending', 'sending'))"
worker_pid() { q "SELECT worker_pid FROM iai_queue_status"; }

wait_until "(SELECT worker_alive FROM iai_queue_status)" 30
mock_ctl reset >/dev/null
mock_ctl "group?id=S&persons=s1,s2,s3,s4,s5" >/dev/null
q "TRUNCATE iai_queue" >/dev/null

# 1. Terminated while it waits for a lock (here: on iai_queue itself).
pid=$(worker_pid)	# (iai_queue_status reads iai_queue: before the lock)
psql -X -q -d "$db" -c "BEGIN" -c "LOCK TABLE iai_queue IN ACCESS EXCLUSIVE MODE" \
	-c "SELECT pg_sleep(20)" -c "COMMIT" >/dev/null 2>&1 &
holder=$!
sleep 0.5
q "SELECT iai_queue_wake()" >/dev/null	# the worker looks at the queue at once
ok "wait_until \"(SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $pid)\" 15" \
	"the worker waits for a lock on iai_queue"
start=$(date +%s%N)
q "SELECT pg_terminate_backend($pid)" >/dev/null
for _ in $(seq 1 100); do
	[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid")" = 0 ] && break
	sleep 0.05
done
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
ok "[ $elapsed_ms -lt 3000 ]" "pg_terminate_backend ends it while it waits ($elapsed_ms ms; the lock is held 20 s)"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null || true
holder=
psql -X -q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(20)%' AND pid <> pg_backend_pid()" >/dev/null
ok "wait_until \"(SELECT worker_alive FROM iai_queue_status)\" 30" "... and it is started again"

# 2. Cancelled, then terminated, while waiting for its rate-limit slot.
set_rate_limit 1
for sig in cancel terminate; do
	p=$([ $sig = cancel ] && echo s1 || echo s3)
	n=$([ $sig = cancel ] && echo s2 || echo s4)
	q "SELECT iai_enqueue_delete_person_from_group('$p', 'S')" >/dev/null
	wait_until "(SELECT state = 'done' FROM iai_queue WHERE params->>'PersonId' = '$p')" 30
	# the next call waits about a second for its slot
	q "SELECT iai_enqueue_delete_person_from_group('$n', 'S')" >/dev/null
	wait_until "(SELECT state = 'sending' FROM iai_queue WHERE params->>'PersonId' = '$n')" 5
	sleep 0.2
	q "SELECT pg_${sig}_backend(worker_pid) FROM iai_queue_status" >/dev/null
	wait_until "$idle AND (SELECT worker_alive FROM iai_queue_status)" 30
	is "$(q "SELECT state || ',' || attempts || ',' || in_doubt FROM iai_queue WHERE params->>'PersonId' = '$n'")" \
		"done,1,false" "$sig while waiting for a rate-limit slot: sent later, once, not in doubt"
	is "$(curl -sS "$mock_url/_mock/log" | "${PYTHON:-python3}" -c '
import json, sys
print(sum(r["person"] == sys.argv[1] for r in json.load(sys.stdin)["requests"]))' "$n")" "1" "... one request for it"
done

done_testing
