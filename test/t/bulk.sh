#!/usr/bin/env bash
# After-commit mode in bulk: enqueues are collected in memory and written
# at commit, or early when many pile up in one subtransaction.  A
# transaction enqueues 6,000 calls, then 12,000 more under a savepoint that
# it rolls back (past the early-write threshold), and commits: exactly the
# 6,000 are queued and delivered.  Runs inside pg_virtualenv.
set -euo pipefail
. "$(dirname "$0")/tap.sh"

set_rate_limit 0
trap 'set_rate_limit default' EXIT

mock_ctl reset >/dev/null
for start in $(seq 1 1000 6000); do
	mock_ctl "group?id=B&persons=$(seq -f 'b%g' "$start" $((start + 999)) | paste -sd, -)" >/dev/null
done
q "TRUNCATE iai_queue" >/dev/null
q "CREATE TABLE bulk_people (person_id text PRIMARY KEY)" >/dev/null
q "INSERT INTO bulk_people SELECT 'b' || i FROM generate_series(1, 18000) i" >/dev/null
q "CREATE TRIGGER bulk_people_iai AFTER DELETE ON bulk_people FOR EACH ROW
   EXECUTE FUNCTION iai_delete_person_trigger('person_id', 'B', 'async')" >/dev/null

psql -X -q -d "$db" -v ON_ERROR_STOP=1 <<'SQL'
BEGIN;
DELETE FROM bulk_people WHERE person_id IN (SELECT 'b' || i FROM generate_series(1, 6000) i);
SAVEPOINT more;
DELETE FROM bulk_people WHERE person_id IN (SELECT 'b' || i FROM generate_series(6001, 18000) i);
ROLLBACK TO SAVEPOINT more;
COMMIT;
SQL

is "$(q "SELECT count(*) || ' ' || min((params->>'PersonId')) || ' ' || count(DISTINCT params->>'PersonId') FROM iai_queue")" \
	"6000 b1 6000" "6,000 calls queued, none of the 12,000 rolled back past an early write"
for _ in $(seq 1 600); do
	[ "$(q "SELECT count(*) FROM iai_queue WHERE state IN ('pending', 'sending')")" = 0 ] && break
	sleep 0.1
done
is "$(q "SELECT count(*) FILTER (WHERE state = 'done') FROM iai_queue")" "6000" "all 6,000 delivered"
is "$(mock_ctl count)" "6000" "the endpoint received exactly 6,000 requests"
is "$(curl -sS "$mock_url/_mock/log" | "${PYTHON:-python3}" -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin)["requests"] if int(r["person"][1:]) > 6000))')" "0" \
	"none for a PersonId of the rolled-back savepoint"

q "DROP TABLE bulk_people" >/dev/null
done_testing
