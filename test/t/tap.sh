# Minimal TAP helpers for the script tests; source it.
_tap_n=0
_tap_failed=0
_tap_name=$(basename "$0" .sh)

_tap_report() {
	_tap_n=$((_tap_n + 1))
	if [ "$1" = ok ]; then
		printf 'ok %d - %s: %s\n' "$_tap_n" "$_tap_name" "$2"
	else
		printf 'not ok %d - %s: %s\n' "$_tap_n" "$_tap_name" "$2"
		printf '#   %s\n' "$3"
		_tap_failed=$((_tap_failed + 1))
	fi
}

is() { [ "$1" = "$2" ] && _tap_report ok "$3" || _tap_report fail "$3" "got '$1', want '$2'"; }
# (a here-string, not a pipe: grep -q stops early, which pipefail would count)
like() { grep -Eq -- "$2" <<< "$1" && _tap_report ok "$3" || _tap_report fail "$3" "'${1:0:300}' does not match /$2/"; }
unlike() { grep -Eq -- "$2" <<< "$1" && _tap_report fail "$3" "'${1:0:300}' matches /$2/" || _tap_report ok "$3"; }
ok() { if eval "$1"; then _tap_report ok "$2"; else _tap_report fail "$2" "$1 is false"; fi; }

done_testing() {
	printf '1..%d\n' "$_tap_n"
	[ "$_tap_failed" -eq 0 ] || { echo "# $_tap_failed of $_tap_n failed"; exit 1; }
}

mock_url=$(psql -X -At -c "SHOW iai_test.mock_url")

# The database the pg_regress suite made, where the extension and the worker are.
db=contrib_regression

# q SQL: one statement there, unaligned output.
q() { psql -X -q -At -d "$db" -c "$1"; }

# set_rate_limit N|default: iai.rate_limit for the whole server (reloaded).
set_rate_limit() {
	if [ "$1" = default ]; then
		psql -X -q -c "ALTER SYSTEM RESET iai.rate_limit" -c "SELECT pg_reload_conf()" >/dev/null
	else
		psql -X -q -c "ALTER SYSTEM SET iai.rate_limit = $1" -c "SELECT pg_reload_conf()" >/dev/null
	fi
	sleep 0.3	# for the worker to take the reload
}

# wait_until SQL-condition [seconds]: poll until it holds (30 s by default;
# errors while the server restarts count as "not yet").
wait_until() {
	local limit=$(( ${2:-30} * 10 ))
	for _ in $(seq 1 "$limit"); do
		[ "$(q "SELECT ($1)::bool" 2>/dev/null)" = t ] && return 0
		sleep 0.1
	done
	return 1
}

# A mock control request; prints the answer (JSON), or just the count.
mock_ctl() {
	local out
	out=$(curl -sS --max-time 30 "$mock_url/_mock/$1")
	if [ "$1" = count ]; then
		printf '%s' "$out" | "${PYTHON:-python3}" -c 'import json,sys; print(json.load(sys.stdin)["count"])'
	else
		printf '%s' "$out"
	fi
}

# The last request the mock received, as one line of JSON.
last_request() {
	curl -sS --max-time 30 "$mock_url/_mock/log" |
		"${PYTHON:-python3}" -c 'import json,sys; r=json.load(sys.stdin)["requests"]; print(json.dumps(r[-1]) if r else "{}")'
}

# Restart the throwaway cluster (pg_virtualenv's) and wait until it accepts
# connections.  Stop and start separately: "restart" skips the stop when
# the server is not accepting connections at that instant.
restart_cluster() {
	pg_ctlcluster "$PGVERSION" regress stop || true
	pg_ctlcluster "$PGVERSION" regress start
	for _ in $(seq 1 100); do
		pg_isready -q && return 0
		sleep 0.1
	done
	echo "# the cluster did not come back" >&2
	return 1
}

# start_spare GROUP: a second mock endpoint, one a test can stop and start,
# on $spare_port (http) and the two ports after it, serving GROUP
# ("G=p1,p2") from its first moment; its files in $work; sets spare_pid.
# Pick ports below Linux's ephemeral range (32768-60999): the worker's many
# keep-alive connections could otherwise hold one as their local port when
# the spare mock starts again.
start_spare() {
	rm -f "$work/ready"
	"${PYTHON:-python3}" test/mock_iai.py --dir "$work" --http-port "$spare_port" \
		--https-port $((spare_port + 1)) --wronghost-port $((spare_port + 2)) \
		--group "$1" >"$work/spare.log" 2>&1 &
	spare_pid=$!
	for _ in $(seq 1 300); do
		[ -e "$work/ready" ] && return 0
		kill -0 "$spare_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$work/spare.log" >&2
	echo "# the second mock endpoint did not start" >&2
	return 1
}
