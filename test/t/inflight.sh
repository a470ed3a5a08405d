#!/usr/bin/env bash
# The worker keeps several calls in flight (iai.queue_max_in_flight), yet
# calls for one PersonId go one at a time, in the order they were queued,
# and the worker with 4 sessions never exceeds iai.rate_limit in any
# one-second window at the endpoint, even when a later-numbered call for a
# person commits first.  A call that cannot be signed pauses delivery
# instead of ending the worker.  Runs inside pg_virtualenv with iai in
# shared_preload_libraries.
set -euo pipefail
. "$(dirname "$0")/tap.sh"

log_summary() {
	curl -sS "$mock_url/_mock/log" | "${PYTHON:-python3}" -c "$1"
}

wait_until "(SELECT worker_alive FROM iai_queue_status)" 30 || true

# 1. One person in 6 groups, removed from each in turn, among 40 other
# calls; the endpoint answers after 200 ms and refuses concurrent
# operations on one person (FailedOperation.ConflictOperation).
mock_ctl reset >/dev/null
for g in 1 2 3 4 5 6; do mock_ctl "group?id=O$g&persons=o1" >/dev/null; done
mock_ctl "group?id=O&persons=$(seq -f 'x%g' 1 40 | paste -sd, -)" >/dev/null
mock_ctl "config?delay_ms=200" >/dev/null
q "TRUNCATE iai_queue"
q "SELECT count(iai_enqueue_delete_person_from_group(p, g)) FROM (
     SELECT 'x' || i AS p, 'O' AS g, i AS k FROM generate_series(1, 40) i
     UNION ALL SELECT 'o1', 'O' || j, j * 7 - 6 FROM generate_series(1, 6) j
     ORDER BY k, g) s" >/dev/null
ok "wait_until \"NOT EXISTS (SELECT FROM iai_queue WHERE state IN ('pending', 'sending'))\" 60" \
	"46 queued calls, 6 of them for one person, are delivered"
is "$(q "SELECT count(*) FROM iai_queue WHERE state = 'done'")" "46" "... all done"
read -r order overlap conflicts most <<< "$(log_summary '
import json, sys
reqs = json.load(sys.stdin)["requests"]
mine = [r for r in reqs if r["person"] == "o1"]
order = ",".join(r["group"] for r in mine)
# each arrives after the previous one was answered (200 ms later)
overlap = sum(b["t"] - a["t"] < 0.2 for a, b in zip(mine, mine[1:]))
conflicts = sum(r["verdict"] == "FailedOperation.ConflictOperation" for r in reqs)
# most requests arriving within 200 ms of one another: calls in flight together
t = sorted(r["t"] for r in reqs)
j = most = 0
for i in range(len(t)):
    while t[i] - t[j] >= 0.2:
        j += 1
    most = max(most, i - j + 1)
print(order, overlap, conflicts, most)')"
is "$order" "O1,O2,O3,O4,O5,O6" "the calls for one person reached the endpoint in the order queued"
is "$overlap" "0" "... one at a time"
is "$conflicts" "0" "no FailedOperation.ConflictOperation"
ok "[ $most -ge 5 ]" "other calls were in flight together ($most within one round trip)"

# 2. The worker draining 300 calls and 4 sessions making 75 each, at 50/s
mock_ctl reset >/dev/null
mock_ctl "group?id=R&persons=$(seq -f 'r%g' 1 300 | paste -sd, -)" >/dev/null
mock_ctl "group?id=S&persons=$(seq -f 's%g' 1 300 | paste -sd, -)" >/dev/null
q "TRUNCATE iai_queue"
q "SELECT count(iai_enqueue_delete_person_from_group('r' || i, 'R')) FROM generate_series(1, 300) i" >/dev/null
for s in 0 1 2 3; do
	psql -X -q -At -d "$db" -c \
		"SELECT count(iai_delete_person_from_group('s' || i, 'S')) FROM generate_series($((s * 75 + 1)), $((s * 75 + 75))) i" \
		> /dev/null &
done
wait
ok "wait_until \"NOT EXISTS (SELECT FROM iai_queue WHERE state IN ('pending', 'sending'))\" 60" \
	"the worker delivered its 300 calls beside the sessions' 300"
read -r total okcount worst <<< "$(log_summary '
import json, sys
reqs = json.load(sys.stdin)["requests"]
t = sorted(r["t"] for r in reqs)
j = worst = 0
for i in range(len(t)):
    while t[i] - t[j] >= 1.0:
        j += 1
    worst = max(worst, i - j + 1)
print(len(reqs), sum(r["verdict"] == "OK" for r in reqs), worst)')"
echo "# 600 calls from the worker and 4 sessions at 50/s; busiest one-second window: $worst"
is "$total" "600" "600 requests reached the endpoint"
is "$okcount" "600" "... all accepted"
ok "[ $worst -le 50 ]" "no one-second window held more than 50 ($worst)"

# 3. Ids follow the sequence, not commit order: a call for a person whose
# later-numbered call is already being sent waits for it.
mock_ctl reset >/dev/null
mock_ctl "group?id=C1&persons=c1" >/dev/null
mock_ctl "group?id=C2&persons=c1" >/dev/null
mock_ctl "config?delay_ms=2000" >/dev/null
q "TRUNCATE iai_queue"
psql -X -q -At -d "$db" -c "BEGIN" -c "SELECT iai_enqueue_delete_person_from_group('c1', 'C1')" \
	-c "SELECT pg_sleep(1)" -c "COMMIT" >/dev/null &
sleep 0.3
q "SELECT iai_enqueue_delete_person_from_group('c1', 'C2')" >/dev/null
wait
ok "wait_until \"NOT EXISTS (SELECT FROM iai_queue WHERE state IN ('pending', 'sending'))\" 30" \
	"two calls for one person, the later-numbered committed first: both delivered"
read -r n overlap conflicts <<< "$(log_summary '
import json, sys
reqs = [r for r in json.load(sys.stdin)["requests"] if r["person"] == "c1"]
overlap = sum(b["t"] - a["t"] < 2.0 for a, b in zip(reqs, reqs[1:]))
conflicts = sum(r["verdict"] == "FailedOperation.ConflictOperation" for r in reqs)
print(len(reqs), overlap, conflicts)')"
is "$n $overlap $conflicts" "2 0 0" "... one after the other (requests, overlaps, ConflictOperation)"
mock_ctl "config?delay_ms=0" >/dev/null

# 4. A call that cannot even be signed (a SecretKey over 1,024 bytes) pauses
# delivery; the worker does not exit, and resumes once the key is fixed.
pid=$(q "SELECT worker_pid FROM iai_queue_status")
mock_ctl "group?id=K&persons=k1" >/dev/null
psql -X -q -c "ALTER SYSTEM SET iai.secret_key = '$(printf 'k%.0s' $(seq 1025))'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
id=$(q "SELECT iai_enqueue_delete_person_from_group('k1', 'K')")
ok "wait_until \"(SELECT paused_since IS NOT NULL FROM iai_queue_status)\" 30" "a SecretKey too long to sign with: delivery pauses"
like "$(q "SELECT pause_reason FROM iai_queue_status")" '^28000: the SecretKey is too long' "... saying why"
is "$(q "SELECT worker_pid FROM iai_queue_status")" "$pid" "... in the same worker process"
ok "wait_until \"(SELECT state = 'pending' AND attempts = 0 FROM iai_queue WHERE id = $id)\" 10" "... the call keeps its attempts"
psql -X -q -c "ALTER SYSTEM RESET iai.secret_key" -c "SELECT pg_reload_conf()" >/dev/null
ok "wait_until \"(SELECT state = 'done' FROM iai_queue WHERE id = $id)\" 30" "... and it is delivered once the key is fixed"

done_testing
