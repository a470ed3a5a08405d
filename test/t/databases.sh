#!/usr/bin/env bash
# The launcher and iai.database_name as a list: a listed database that does
# not exist costs no restart loop (one log line, no FATAL); once created,
# with the extension, its queue is delivered within seconds; two databases
# deliver their own queues at once under one shared rate limit; a database
# dropped (WITH (FORCE)) and created again is served again.  Runs inside
# pg_virtualenv, preloaded.
set -euo pipefail
. "$(dirname "$0")/tap.sh"

log=$(pg_lsclusters --no-header | awk '$2 == "regress" { print $NF }')
log_size() { stat -c %s "$log"; }
since() { tail -c +"$(($1 + 1))" "$log"; }
db2=iai_second
cleanup() {
	psql -X -q -c "ALTER SYSTEM RESET iai.database_name" -c "SELECT pg_reload_conf()" >/dev/null || true
	psql -X -q -c "DROP DATABASE IF EXISTS $db2 WITH (FORCE)" >/dev/null 2>&1 || true
	set_rate_limit default
}
trap cleanup EXIT
q2() { psql -X -q -At -d "$db2" -c "$1"; }

# 1. Listed but missing: waited for, quietly.
psql -X -q -c "DROP DATABASE IF EXISTS $db2" >/dev/null
before=$(log_size)
psql -X -q -c "ALTER SYSTEM SET iai.database_name = 'contrib_regression, $db2'" \
	-c "SELECT pg_reload_conf()" >/dev/null
sleep 6
lines=$(since "$before" | grep -E '(LOG|WARNING|ERROR|FATAL): ' | grep -E 'iai|FATAL' || true)
is "$(grep -c "database \"$db2\" does not exist" <<<"$lines")" "1" "a missing database: one log line in 6 s"
is "$(grep -c 'FATAL' <<<"$lines")" "0" "... and no FATAL"
is "$(q "SELECT worker_alive FROM iai_queue_status")" "t" "the other database is still served"

# 2. Created, with the extension: served within seconds.
psql -X -q -c "CREATE DATABASE $db2" >/dev/null
start=$(date +%s%N)
q2 "CREATE EXTENSION iai" >/dev/null
mock_ctl reset >/dev/null
mock_ctl "group?id=D&persons=$(seq -f 'a%g' 1 40 | paste -sd, -),$(seq -f 'b%g' 1 40 | paste -sd, -)" >/dev/null
q2 "SELECT iai_enqueue_delete_person_from_group('b1', 'D')" >/dev/null 2>&1
for _ in $(seq 1 150); do
	[ "$(q2 "SELECT state FROM iai_queue" 2>/dev/null)" = done ] && break
	sleep 0.1
done
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
echo "# delivered in the new database ${elapsed_ms} ms after CREATE EXTENSION"
is "$(q2 "SELECT state FROM iai_queue")" "done" "a database created later: its queue is delivered"
ok "[ $elapsed_ms -le 10000 ]" "... within 10 s of the database and extension being created (${elapsed_ms} ms)"
is "$(q2 "SELECT worker_database FROM iai_queue_status")" "$db2" "... by a worker of its own"

# 3. Two databases at once, one shared rate limit.
set_rate_limit 20
mock_ctl reset >/dev/null
mock_ctl "group?id=D&persons=$(seq -f 'a%g' 1 40 | paste -sd, -),$(seq -f 'b%g' 2 41 | paste -sd, -)" >/dev/null
start=$(date +%s%N)
q "SELECT count(iai_enqueue_delete_person_from_group('a' || i, 'D')) FROM generate_series(1, 40) i" >/dev/null &
q2 "SELECT count(iai_enqueue_delete_person_from_group('b' || i, 'D')) FROM generate_series(2, 41) i" >/dev/null &
wait
idle="NOT EXISTS (SELECT FROM iai_queue WHERE state IN ('pending', 'sending'))"
for _ in $(seq 1 300); do
	[ "$(q "SELECT $idle")" = t ] && [ "$(q2 "SELECT $idle")" = t ] && break
	sleep 0.1
done
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
worst=$(curl -sS "$mock_url/_mock/log" | "${PYTHON:-python3}" -c '
import json, sys
t = sorted(r["t"] for r in json.load(sys.stdin)["requests"])
j, worst = 0, 0
for i in range(len(t)):
    while t[i] - t[j] >= 1.0:
        j += 1
    worst = max(worst, i - j + 1)
print(worst)')
echo "# 2 x 40 queued calls in two databases at iai.rate_limit = 20: ${elapsed_ms} ms; busiest one-second window ${worst}"
is "$(q "SELECT count(*) FROM iai_queue WHERE params->>'PersonId' LIKE 'a%' AND state = 'done'")" "40" \
	"two databases: the first delivers its own queue"
is "$(q2 "SELECT count(*) FROM iai_queue WHERE params->>'PersonId' LIKE 'b%' AND state = 'done'")" "41" \
	"... and the second its own"
ok "[ $worst -le 20 ]" "... under one shared limit: no one-second window above 20 (${worst})"
ok "[ $elapsed_ms -ge 3800 ]" "... 80 calls at 20/s took at least 3.8 s (${elapsed_ms} ms)"

# 4. Dropped, then created again.
before=$(log_size)
psql -X -q -c "DROP DATABASE $db2 WITH (FORCE)" >/dev/null
sleep 3
lines=$(since "$before" | grep -E '(LOG|WARNING|ERROR|FATAL): ' | grep -E 'iai|FATAL' || true)
is "$(grep -c "database \"$db2\" does not exist" <<<"$lines")" "1" "dropped: one log line"
psql -X -q -c "CREATE DATABASE $db2" >/dev/null
q2 "CREATE EXTENSION iai" >/dev/null
q2 "SELECT iai_enqueue_delete_person_from_group('a1', 'D')" >/dev/null 2>&1 || true
for _ in $(seq 1 150); do
	[ "$(q2 "SELECT state FROM iai_queue" 2>/dev/null)" != pending ] && break
	sleep 0.1
done
like "$(q2 "SELECT state FROM iai_queue")" '^(done|dead)$' "created again: served again"

done_testing
