#!/usr/bin/env bash
# An invalid iai.endpoint, iai.ca_file or iai.proxy in the configuration
# file, at a reload or at server start, never leaves calls going to the old
# value or the default (the production service): every call fails naming
# the setting (and the value, unless it holds user information) and nothing
# is sent; the worker keeps queued calls until it is corrected.  Edits the
# cluster's postgresql.conf.  Runs inside pg_virtualenv, preloaded.
set -euo pipefail
. "$(dirname "$0")/tap.sh"

conf=$(psql -X -At -c "SHOW config_file")
log=$(pg_lsclusters --no-header | awk '$2 == "regress" { print $NF }')
saved=$(mktemp)
cp "$conf" "$saved"
restore() {
	cp "$saved" "$conf"
	psql -X -q -c "SELECT pg_reload_conf()" >/dev/null
	sleep 0.5
}
trap 'cp "$saved" "$conf"; rm -f "$saved"; restart_cluster' EXIT

# configure LINE: the saved configuration plus LINE, reloaded.
configure() {
	cp "$saved" "$conf"
	printf '%s\n' "$1" >> "$conf"
	psql -X -q -c "SELECT pg_reload_conf()" >/dev/null
	sleep 0.5
}
call() { psql -X -q -At -d "$db" -c "SELECT iai_delete_person_from_group('$1', 'RefGroup')" 2>&1 || true; }

mock_ctl reset >/dev/null
mock_ctl "group?id=RefGroup&persons=r1,r2,r3,r4,r5,r6" >/dev/null
like "$(call r1)" '^00000000-' "a call before: it works"

# 1. at a reload
configure "iai.endpoint = 'https://127.0.0.1:8443/v1'"
before=$(mock_ctl count)
out=$(call r2)
like "$out" 'ERROR:  invalid value for parameter "iai.endpoint": "https://127.0.0.1:8443/v1"' "an endpoint with a path at a reload: calls fail naming it"
like "$out" 'must not have a path' "... saying what is wrong"
is "$(mock_ctl count)" "$before" "... nothing is sent, not to the old endpoint either"
is "$(q 'SHOW iai.endpoint')" "https://127.0.0.1:8443/v1" "SHOW says what the configuration file says"
id=$(q "SELECT iai_enqueue_delete_person_from_group('r3', 'RefGroup')")
wait_until "(SELECT last_error_code IS NOT NULL FROM iai_queue WHERE id = $id)" 30 || true
is "$(q "SELECT CASE WHEN state IN ('pending', 'sending') THEN 'retried' ELSE state END || ' ' || last_error_code FROM iai_queue WHERE id = $id")" "retried F0000" "the worker keeps the queued call, to retry"
is "$(mock_ctl count)" "$before" "... having sent nothing"

configure "iai.endpoint = 'https://alice:pw-never-shown@127.0.0.1:58443'"
out=$(call r2)
like "$out" 'ERROR:  invalid value for parameter "iai.endpoint"$' "an endpoint with user information: calls fail naming the setting"
unlike "$out" 'pw-never-shown|alice' "... without repeating the value"
is "$(q 'SHOW iai.endpoint')" "https://********@127.0.0.1:58443" "... which SHOW shows with the user information masked"
is "$(grep -c 'pw-never-shown' "$log" || true)" "0" "... and the server log never holds it"

configure "iai.ca_file = '/tmp/ca\\n.pem'"
like "$(call r2)" 'invalid value for parameter "iai.ca_file"' "a CA file name with a control character: calls fail naming it"
configure "iai.proxy = 'http://127.0.0.1'"
like "$(call r2)" 'invalid value for parameter "iai.proxy": "http://127.0.0.1"' "a proxy without a port: calls fail naming it"
is "$(mock_ctl count)" "$before" "... nothing sent by any of them"

restore
like "$(call r2)" '^00000000-' "corrected and reloaded: calls work again"
ok "wait_until \"(SELECT state = 'done' FROM iai_queue WHERE id = $id)\" 30" "... and the worker delivers the queued call"

# 2. at server start
cp "$saved" "$conf"
printf '%s\n' "iai.endpoint = 'https://127.0.0.1:8443/v1'" >> "$conf"
lines=$(wc -l < "$log")
restart_cluster
is "$(q 'SHOW iai.endpoint')" "https://127.0.0.1:8443/v1" "started with an endpoint with a path: SHOW says so (not the default)"
before=$(mock_ctl count)
like "$(call r4)" 'ERROR:  invalid value for parameter "iai.endpoint": "https://127.0.0.1:8443/v1"' "... calls fail naming it"
is "$(mock_ctl count)" "$before" "... nothing is sent"
like "$(tail -n +"$lines" "$log" | grep 'invalid value for parameter "iai.endpoint"' | head -1)" 'LOG:  invalid value' "... and the server log says so at start"
ok "wait_until '(SELECT worker_alive FROM iai_queue_status)' 30" "the worker runs"
id=$(q "SELECT iai_enqueue_delete_person_from_group('r5', 'RefGroup')")
wait_until "(SELECT last_error_code IS NOT NULL FROM iai_queue WHERE id = $id)" 30 || true
is "$(q "SELECT CASE WHEN state IN ('pending', 'sending') THEN 'retried' ELSE state END || ' ' || last_error_code FROM iai_queue WHERE id = $id")" "retried F0000" "... and keeps the queued call"
restore
like "$(call r6)" '^00000000-' "corrected and reloaded: calls work again"
ok "wait_until \"(SELECT state = 'done' FROM iai_queue WHERE id = $id)\" 30" "... and the worker delivers the queued call"

done_testing
