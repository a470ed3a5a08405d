#!/usr/bin/env bash
# After-commit mode in databases of other encodings: an API error whose
# message the database cannot hold (raw UTF-8 or \u escapes) is recorded
# with the API's code and the message made lossy, and sent again like any
# server error (the queue pauses and probes), never dead-lettered for an
# encoding error.  The worker is
# pointed at each database in turn (iai.database_name, reloaded; it
# restarts).  Temporary credentials whose answer escapes characters the
# database lacks work too.  Runs inside pg_virtualenv, preloaded.
set -euo pipefail
. "$(dirname "$0")/tap.sh"

export PGCLIENTENCODING=UTF8
msg='Caf%C3%A9%20%E6%9C%8D%E5%8A%A1%20%E2%82%AC%20%F0%9F%98%80'
dbs=(iai_q_latin1 iai_q_sql_ascii iai_q_euc_cn)
encodings=(LATIN1 SQL_ASCII EUC_CN)
# what each database keeps of "Café 服务 € 😀"
want=('Café ?? ? ?' 'Café 服务 € 😀' 'Café 服务 ? ?')

serve() {
	psql -X -q -c "ALTER SYSTEM SET iai.database_name = '$1'" -c "SELECT pg_reload_conf()" >/dev/null
	db=$1 wait_until "(SELECT worker_alive FROM iai_queue_status) AND
		(SELECT datname FROM pg_stat_activity WHERE pid = (SELECT worker_pid FROM iai_queue_status)) = '$1'" 30
}
cleanup() {
	psql -X -q -c "ALTER SYSTEM RESET iai.database_name" -c "SELECT pg_reload_conf()" >/dev/null || true
	db=contrib_regression wait_until "(SELECT datname FROM pg_stat_activity WHERE pid = (SELECT worker_pid FROM iai_queue_status)) = 'contrib_regression'" 30 || true
	for d in "${dbs[@]}"; do
		psql -X -q -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true
	done
}
trap cleanup EXIT

# nudge_until_done DB ID: attempt the row now (not after the backoff its
# failures earned) until it is delivered.
nudge_until_done() {
	for _ in $(seq 60); do
		psql -X -q -d "$1" -c "BEGIN" -c "UPDATE iai_queue SET next_attempt_at = now() WHERE id = $2 AND state = 'pending'" \
			-c "SELECT iai_queue_wake()" -c "COMMIT" >/dev/null
		[ "$(psql -X -At -d "$1" -c "SELECT state FROM iai_queue WHERE id = $2")" = done ] && return 0
		sleep 0.5
	done
	psql -X -At -d "$1" -c "SELECT '# row ' || id || ': ' || state || ', ' || attempts || ' attempts, ' || coalesce(last_error_message, '')
		FROM iai_queue WHERE id = $2"
	return 1
}

# One queued call answered with the message (escape=0|1) until it is seen.
check_row() {
	local d=$1 escape=$2 expect=$3 what=$4 id
	mock_ctl reset >/dev/null
	mock_ctl "group?id=EncGroup&persons=q$escape" >/dev/null
	mock_ctl "fault?kind=error&code=InternalError&count=1000&escape=$escape&message=$msg" >/dev/null
	id=$(psql -X -q -At -d "$d" -c "SELECT iai_enqueue_delete_person_from_group('q$escape', 'EncGroup')")
	db=$d wait_until "(SELECT last_error_code IS NOT NULL FROM iai_queue WHERE id = $id)" 30 || true
	is "$(psql -X -q -At -d "$d" -c "SELECT CASE WHEN state IN ('pending', 'sending') THEN 'retried' ELSE state END
		|| ' ' || last_error_code || ': ' || last_error_message FROM iai_queue WHERE id = $id")" \
		"retried InternalError: InternalError: $expect" "$what: the API's code, the message as the database holds it, to be retried"
	mock_ctl clear_faults >/dev/null
	ok "nudge_until_done $d $id" "$what: delivered on a later attempt"
}

for i in "${!dbs[@]}"; do
	d=${dbs[$i]}
	psql -X -q -c "CREATE DATABASE $d ENCODING '${encodings[$i]}' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'"
	psql -X -q -d "$d" -c "CREATE EXTENSION iai"
	ok "serve $d" "the worker serves the ${encodings[$i]} database $d"
	check_row "$d" 0 "${want[$i]}" "${encodings[$i]}, raw UTF-8"
	check_row "$d" 1 "${want[$i]}" "${encodings[$i]}, \\u escapes"
done

# Temporary credentials from an answer that escapes characters LATIN1 lacks
# (the JSON parser would raise converting them to the database's encoding).
mock_ctl reset >/dev/null
mock_ctl "group?id=EncRoleGroup&persons=r1" >/dev/null
mock_ctl "role?name=EncRole&id=AKIDmockEncodingRole00000000000000000007&key=mockEncodingRoleSecretKey000000007&token=mock-encoding-role-token-07&answer=escaped" >/dev/null
psql -X -q -c "ALTER SYSTEM SET iai.metadata_url = '$mock_url'" -c "ALTER SYSTEM SET iai.cvm_role = 'EncRole'" \
	-c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
is "$(psql -X -q -At -d iai_q_latin1 -c "SET iai.credentials = 'cvm_role'" \
	-c "SELECT iai_delete_person_from_group('r1', 'EncRoleGroup') IS NOT NULL" 2>&1)" "t" \
	"LATIN1: a call with temporary credentials from an answer escaping characters LATIN1 lacks"
psql -X -q -c "ALTER SYSTEM RESET iai.metadata_url" -c "ALTER SYSTEM RESET iai.cvm_role" \
	-c "SELECT pg_reload_conf()" >/dev/null

done_testing
