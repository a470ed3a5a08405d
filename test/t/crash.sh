#!/usr/bin/env bash
# Crash durability of after-commit mode: 1,000 enqueues through an async
# trigger, 200 of them in transactions that roll back; the worker is killed
# with SIGKILL mid-delivery, later the whole server; after the restarts every
# committed PersonId is removed, none from a rolled-back transaction was
# sent, and calls in flight at a crash were resent at most once, their
# "already gone" answer recorded as done.  Runs inside pg_virtualenv.
set -euo pipefail
. "$(dirname "$0")/tap.sh"

wait_sent() {	# until the mock has received at least $1 requests
	for _ in $(seq 1 300); do
		[ "$(mock_ctl count)" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
datadir=$(q "SHOW data_directory")

set_rate_limit 200
trap 'set_rate_limit default' EXIT
wait_until "(SELECT worker_alive FROM iai_queue_status)" 30
q "TRUNCATE iai_queue" >/dev/null
mock_ctl reset >/dev/null
mock_ctl "group?id=C&persons=$(seq -f 'c%g' 1 1000 | paste -sd, -)" >/dev/null

q "CREATE TABLE crash_people (person_id text PRIMARY KEY)" >/dev/null
q "INSERT INTO crash_people SELECT 'c' || i FROM generate_series(1, 1000) i" >/dev/null
q "CREATE TRIGGER crash_people_iai AFTER DELETE ON crash_people FOR EACH ROW
   EXECUTE FUNCTION iai_delete_person_trigger('person_id', 'C', 'async')" >/dev/null

# 20 transactions of 50 deletes; every fifth rolls back (200 PersonIds).
{
	for t in $(seq 0 19); do
		echo "BEGIN;"
		echo "DELETE FROM crash_people WHERE person_id IN (SELECT 'c' || i FROM generate_series($((t * 50 + 1)), $((t * 50 + 50))) i);"
		if [ $((t % 5)) -eq 4 ]; then echo "ROLLBACK;"; else echo "COMMIT;"; fi
	done
} | psql -X -q -d "$db" -v ON_ERROR_STOP=1
is "$(q "SELECT count(*) FROM iai_queue")" "800" "800 committed enqueues, 200 rolled back"

# Kill the worker mid-delivery: the postmaster resets the whole server.
wait_sent 150
worker=$(q "SELECT worker_pid FROM iai_queue_status")
kill -9 "$worker"
echo "# killed the worker (pid $worker) with SIGKILL after $(mock_ctl count) requests"
for _ in $(seq 1 100); do pg_isready -q && break; sleep 0.1; done
ok "wait_until '(SELECT worker_alive FROM iai_queue_status)' 30" "the server recovers and the worker restarts"

# Kill the whole server mid-delivery, then start it again.
before=$(mock_ctl count)
wait_sent $((before + 150))
postmaster=$(head -n 1 "$datadir/postmaster.pid")
children=$(pgrep -P "$postmaster" | tr '\n' ' ')
kill -9 "$postmaster"
echo "# killed the postmaster (pid $postmaster) with SIGKILL after $(mock_ctl count) requests"
for pid in $children; do
	for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
done
pg_ctlcluster "$PGVERSION" regress start
for _ in $(seq 1 100); do pg_isready -q && break; sleep 0.1; done
ok "wait_until \"NOT EXISTS (SELECT FROM iai_queue WHERE state IN ('pending', 'sending'))\" 120" \
	"after both crashes the queue drains"

report=$(curl -sS "$mock_url/_mock/log" | "${PYTHON:-python3}" -c '
import json, sys
from collections import Counter
reqs = json.load(sys.stdin)["requests"]
committed = {"c%d" % i for t in range(20) if t % 5 != 4 for i in range(t * 50 + 1, t * 50 + 51)}
rolled_back = {"c%d" % i for t in range(20) if t % 5 == 4 for i in range(t * 50 + 1, t * 50 + 51)}
ok = {r["person"] for r in reqs if r["verdict"] == "OK"}
sends = Counter(r["person"] for r in reqs)
dups = [p for p, n in sends.items() if n > 1]
gone = ("FailedOperation.GroupPersonMapNotExist", "InvalidParameterValue.PersonIdNotExist")
dup_ok = all(sorted(r["verdict"] for r in reqs if r["person"] == p).count("OK") == 1 and
             all(r["verdict"] in ("OK",) + gone for r in reqs if r["person"] == p) for p in dups)
print(len(committed - ok), len(rolled_back & set(sends)), len(dups),
      max(sends.values()), int(dup_ok), len(reqs))')
read -r lost sent_rolled_back duplicates max_sends dups_ok total <<< "$report"
echo "# $total requests in all; $duplicates PersonIds sent twice (in flight at a crash)"
is "$lost" "0" "0 committed deletes lost"
is "$sent_rolled_back" "0" "0 sent from rolled-back transactions"
ok "[ $max_sends -le 2 ]" "a call in flight at a crash is resent at most once (max sends $max_sends)"
is "$dups_ok" "1" "... each resend answered 'already gone', exactly one OK per PersonId"
is "$(q "SELECT count(*) FILTER (WHERE state = 'done') || '/' || count(*) FROM iai_queue")" "800/800" "every queue row is done, none dead"
state=$(mock_ctl state | "${PYTHON:-python3}" -c 'import json,sys; print(len(json.load(sys.stdin)["groups"]["C"]))')
is "$state" "200" "the group holds exactly the 200 rolled-back PersonIds"

q "DROP TABLE crash_people" >/dev/null
done_testing
