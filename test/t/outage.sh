#!/usr/bin/env bash
# Outages pause the queue instead of dead-lettering it.  With a retry
# schedule far shorter than the outage (iai.queue_max_attempts = 3,
# iai.queue_retry_interval = 200ms): the endpoint down, the credentials
# gone, a storm of RequestLimitExceeded answers.  Each time nothing is
# dead-lettered, everything is delivered once the trouble ends, no attempt
# is spent, iai_queue_status shows the pause, and the server log gets a
# bounded number of lines.  A failure about the row itself still
# dead-letters after its attempts.  Runs inside pg_virtualenv, preloaded.
set -euo pipefail
. "$(dirname "$0")/tap.sh"

work=$(mktemp -d /tmp/iai-outage.XXXXXX)
chmod 755 "$work"
spare_pid=
log=$(pg_lsclusters --no-header | awk '$2 == "regress" { print $NF }')
cleanup() {
	[ -n "$spare_pid" ] && kill "$spare_pid" 2>/dev/null
	psql -X -q -c "ALTER SYSTEM RESET iai.endpoint" -c "ALTER SYSTEM RESET iai.queue_max_attempts" \
		-c "ALTER SYSTEM RESET iai.secret_id" -c "ALTER SYSTEM RESET iai.secret_key" \
		-c "ALTER SYSTEM RESET iai.log_requests" -c "SELECT pg_reload_conf()" >/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

idle="NOT EXISTS (SELECT FROM iai_queue WHERE state IN ('pending', 'sending'))"
# iai's lines in the server log from byte $1 on (not the debug chatter)
iai_lines() { tail -c +"$(($1 + 1))" "$log" | grep -E '(LOG|WARNING|ERROR|FATAL|PANIC): +iai' || true; }
log_size() { stat -c %s "$log"; }

spare_port=31096

wait_until "(SELECT worker_alive FROM iai_queue_status)" 30
q "TRUNCATE iai_queue" >/dev/null
psql -X -q -c "ALTER SYSTEM SET iai.queue_max_attempts = 3" -c "SELECT pg_reload_conf()" >/dev/null
set_rate_limit 0

# 1. The endpoint down for longer than the whole retry schedule (with
# iai.log_requests off, as by default: it would log every probe).
psql -X -q -c "ALTER SYSTEM SET iai.log_requests = off" -c "SELECT pg_reload_conf()" >/dev/null
people=$(seq -f 'o%g' 1 300 | paste -sd, -)
psql -X -q -c "ALTER SYSTEM SET iai.endpoint = 'http://127.0.0.1:$spare_port'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
before=$(log_size)
q "SELECT count(iai_enqueue_delete_person_from_group('o' || i, 'O')) FROM generate_series(1, 300) i" >/dev/null
ok "wait_until \"(SELECT paused_since IS NOT NULL AND next_probe_at IS NOT NULL FROM iai_queue_status)\" 10" \
	"the endpoint down: delivery pauses (paused_since, next_probe_at)"
like "$(q "SELECT pause_reason FROM iai_queue_status")" '^08001: could not connect' "... with the reason: SQLSTATE and message"
sleep 8	# many times the retry schedule (200 ms doubling, 3 attempts)
is "$(q "SELECT count(*) FROM iai_queue WHERE state = 'dead'")" "0" "8 s of outage: nothing dead-lettered"
is "$(q "SELECT max(attempts) FROM iai_queue WHERE state = 'pending'")" "0" "... and no attempt spent"
during=$(iai_lines "$before" | wc -l)
start_spare "O=$people"
ok "wait_until \"$idle\" 60" "the endpoint back: the queue drains by itself"
is "$(q "SELECT count(*) FILTER (WHERE state = 'done') || '/' || count(*) FROM iai_queue")" "300/300" \
	"... every call delivered"
is "$(q "SELECT paused_since IS NULL FROM iai_queue_status")" "t" "... and the pause is over"
lines=$(iai_lines "$before")
ok "[ $during -le 3 ]" "at most 3 log lines about iai during the outage (got $during)" ||
	iai_lines "$before" | sed 's/^/# /' | head -20
like "$lines" 'LOG: +iai queue delivery paused: 08001: could not connect' "one LOG line when it paused"
like "$lines" 'LOG: +iai queue delivery resumed after [0-9]+ s' "one LOG line when it resumed"
is "$(grep -c 'delivery paused' <<<"$lines")" "1" "... and only one of each"
kill "$spare_pid"; wait "$spare_pid" 2>/dev/null || true
spare_pid=
psql -X -q -c "ALTER SYSTEM RESET iai.endpoint" -c "ALTER SYSTEM RESET iai.log_requests" \
	-c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5

# 2. Credentials removed, then restored.
mock_ctl reset >/dev/null
mock_ctl "group?id=O&persons=c1,c2,c3" >/dev/null
q "TRUNCATE iai_queue" >/dev/null
psql -X -q -c "ALTER SYSTEM SET iai.secret_id = ''" -c "ALTER SYSTEM SET iai.secret_key = ''" \
	-c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
q "SELECT count(iai_enqueue_delete_person_from_group(p, 'O')) FROM unnest(ARRAY['c1', 'c2', 'c3']) p" >/dev/null
ok "wait_until \"(SELECT pause_reason LIKE '28000: no Tencent Cloud credentials%' FROM iai_queue_status)\" 10" \
	"credentials gone: delivery pauses, SQLSTATE 28000"
sleep 2
is "$(q "SELECT count(*) FROM iai_queue WHERE state = 'dead'")" "0" "... nothing dead-lettered"
psql -X -q -c "ALTER SYSTEM RESET iai.secret_id" -c "ALTER SYSTEM RESET iai.secret_key" \
	-c "SELECT pg_reload_conf()" >/dev/null
ok "wait_until \"$idle\" 30" "credentials back: delivered"
is "$(q "SELECT string_agg(state || ':' || attempts, ',' ORDER BY id) FROM iai_queue")" "done:1,done:1,done:1" \
	"... each on its first counted attempt"

# 3. A storm of RequestLimitExceeded answers.
mock_ctl "group?id=O&persons=$(seq -f 'r%g' 1 20 | paste -sd, -)" >/dev/null
q "TRUNCATE iai_queue" >/dev/null
mock_ctl "fault?kind=error&code=RequestLimitExceeded&count=6" >/dev/null
q "SELECT count(iai_enqueue_delete_person_from_group('r' || i, 'O')) FROM generate_series(1, 20) i" >/dev/null
ok "wait_until \"(SELECT pause_reason LIKE 'RequestLimitExceeded:%' FROM iai_queue_status)\" 10" \
	"RequestLimitExceeded: delivery pauses"
ok "wait_until \"$idle\" 60" "... and resumes once the service accepts calls again"
is "$(q "SELECT count(*) FILTER (WHERE state = 'done' AND attempts = 1) FROM iai_queue")" "20" \
	"... every call delivered on its first counted attempt"

# 4. A failure about the row itself still dead-letters after its attempts.
q "TRUNCATE iai_queue" >/dev/null
before=$(log_size)
mock_ctl "fault?kind=error&code=FailedOperation.ConflictOperation&count=3" >/dev/null
q "SELECT iai_enqueue_delete_person_from_group('r1', 'O')" >/dev/null
ok "wait_until \"$idle\" 30" "a row-specific failure, three times:"
is "$(q "SELECT state || ':' || attempts || ':' || last_error_code FROM iai_queue")" \
	"dead:3:FailedOperation.ConflictOperation" "... dead-lettered after iai.queue_max_attempts"
is "$(q "SELECT paused_since IS NULL FROM iai_queue_status")" "t" "... without pausing the queue"
is "$(iai_lines "$before" | grep -c 'iai queue row')" "3" "... with a log line per attempt"

set_rate_limit default
done_testing
