#!/usr/bin/env bash
# The extension created in a schema of its own, used by roles holding only
# what the README names: DELETE (and SELECT) on a table for its triggers,
# EXECUTE for a function; no USAGE on the extension's schema, no privilege
# on iai_queue.  A long-lived session keeps enqueueing after the queue's
# owner changes (REASSIGN OWNED; the old owner dropped).  The worker is
# pointed at a database of its own (iai.database_name, reloaded).  Runs
# inside pg_virtualenv, preloaded.
set -euo pipefail
. "$(dirname "$0")/tap.sh"

d=iai_schema
cleanup() {
	psql -X -q -c "ALTER SYSTEM RESET iai.database_name" -c "SELECT pg_reload_conf()" >/dev/null || true
	db=contrib_regression wait_until "(SELECT datname FROM pg_stat_activity WHERE pid = (SELECT worker_pid FROM iai_queue_status)) = 'contrib_regression'" 30 || true
	psql -X -q -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true
	for r in iai_ext_owner1 iai_ext_owner2 iai_deleter iai_fn_user; do
		psql -X -q -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1 || true
	done
}
trap cleanup EXIT

mock_ctl reset >/dev/null
mock_ctl "group?id=SchemaGroup&persons=s1,s2,a1,a2,a3,f1" >/dev/null
psql -X -q <<SQL
CREATE ROLE iai_ext_owner1 SUPERUSER;
CREATE ROLE iai_ext_owner2 SUPERUSER;
CREATE ROLE iai_deleter;
CREATE ROLE iai_fn_user;
CREATE DATABASE $d;
ALTER SYSTEM SET iai.database_name = '$d';
SELECT pg_reload_conf();
SQL
psql -X -q -d "$d" <<'SQL'
SET ROLE iai_ext_owner1;
CREATE SCHEMA ext;
CREATE EXTENSION iai SCHEMA ext;
RESET ROLE;
CREATE TABLE staff_sync (person_id text);
CREATE TABLE staff_async (person_id text);
INSERT INTO staff_sync VALUES ('s1'), ('s2');
INSERT INTO staff_async VALUES ('a1'), ('a2'), ('a3');
CREATE TRIGGER staff_sync_iai AFTER DELETE ON staff_sync FOR EACH ROW
    EXECUTE FUNCTION ext.iai_delete_person_trigger('person_id', 'SchemaGroup');
CREATE TRIGGER staff_async_iai AFTER DELETE ON staff_async FOR EACH ROW
    EXECUTE FUNCTION ext.iai_delete_person_trigger('person_id', 'SchemaGroup', 'async');
GRANT SELECT, DELETE ON staff_sync, staff_async TO iai_deleter;
-- a role that may execute the enqueue function, reached through a view
-- (naming the function would take USAGE on its schema)
GRANT EXECUTE ON FUNCTION ext.iai_enqueue_delete_person_from_group(text, text) TO iai_fn_user;
CREATE VIEW offboard_f1 AS SELECT ext.iai_enqueue_delete_person_from_group('f1', 'SchemaGroup') AS id;
GRANT SELECT ON offboard_f1 TO iai_fn_user;
SQL
ok "db=$d wait_until \"(SELECT datname FROM pg_stat_activity WHERE pid = (SELECT worker_pid FROM ext.iai_queue_status)) = '$d'\" 30" "the worker serves $d"
is "$(psql -X -At -d "$d" -c "SELECT has_schema_privilege('iai_deleter', 'ext', 'USAGE'), has_schema_privilege('iai_fn_user', 'ext', 'USAGE')")" "f|f" "neither role has USAGE on the extension's schema"

out=$(psql -X -q -At -d "$d" 2>&1 <<'SQL' || true
SET ROLE iai_deleter;
DELETE FROM staff_sync WHERE person_id = 's1';
SELECT count(*) FROM staff_sync;
SQL
)
is "$out" "1" "a synchronous trigger: the delete works"

# one long-lived session: enqueue, the queue changes owner, enqueue again
out=$(psql -X -q -At -d "$d" 2>&1 <<SQL || true
SET ROLE iai_deleter;
DELETE FROM staff_async WHERE person_id = 'a1';
SELECT 'after a1: ' || count(*) FROM staff_async;
\! psql -X -q -d $d -c 'REASSIGN OWNED BY iai_ext_owner1 TO iai_ext_owner2' -c 'DROP OWNED BY iai_ext_owner1' && psql -X -q -c 'DROP ROLE iai_ext_owner1'
DELETE FROM staff_async WHERE person_id = 'a2';
SELECT 'after a2: ' || count(*) FROM staff_async;
SQL
)
like "$out" '(^|\n)after a1: 2(\n|$)' "an 'async' trigger: the delete commits"
like "$out" '(^|\n)after a2: 1(\n|$)' "... and again in the same session after REASSIGN OWNED and the old owner dropped"
unlike "$out" 'ERROR' "... without errors"
is "$(psql -X -At -d "$d" -c "SELECT relowner::regrole FROM pg_class WHERE oid = 'ext.iai_queue'::regclass")" "iai_ext_owner2" "the queue's owner did change"

out=$(psql -X -q -At -d "$d" -c "SET ROLE iai_fn_user" -c "SELECT id > 0 FROM offboard_f1" 2>&1 || true)
is "$out" "t" "EXECUTE on the enqueue function alone: it works"

ok "db=$d wait_until \"(SELECT count(*) = 3 FROM ext.iai_queue WHERE state = 'done')\" 30" "the worker delivers all three calls"
is "$(mock_ctl "count?verdict=OK" | tr -dc 0-9)" "4" "the mock removed all four people"

done_testing
