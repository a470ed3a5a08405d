#!/usr/bin/env bash
# Runs inside pg_virtualenv (see bench/run): sets the database up, checks the
# PL/Python signer against the C one, then takes every measurement with the
# repetitions interleaved (a, b, c, d, e, e' in each round), then the
# after-commit rounds (g, h), the worker at 50/s, and the memory and throttle
# checks.  Appends raw numbers to $BENCH_WORK/raw.tsv for bench/report.py:
#                   m <name> <value> <first log line> <last log line>
#                   f <fact> <value>
set -euo pipefail
cd "$(dirname "$0")/.."

: "${BENCH_WORK:?}" "${BENCH_URL:?}" "${BENCH_SECRET_ID:?}" "${BENCH_SECRET_KEY:?}"
: "${N:?}" "${R:?}" "${M:?}" "${SIGN_ITERATIONS:?}"
raw=$BENCH_WORK/raw.tsv
access_log=$BENCH_WORK/nginx/access.log

say() { printf '== %s\n' "$*"; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
fact() { printf 'f\t%s\t%s\n' "$1" "$2" >> "$raw"; }
lines() { wc -l < "$access_log"; }

# Wait for the access log to hold `want` lines (nginx writes a line just
# after answering), then insist on exactly that many: each call is one request.
settle() {
	local want=$1 have
	for _ in $(seq 1 50); do
		have=$(lines)
		[ "$have" -ge "$want" ] && break
		sleep 0.05
	done
	if [ "$have" -ne "$want" ]; then
		echo "the endpoint logged $have lines, expected $want" >&2
		return 1
	fi
	echo "$have"
}

# set_rate_limit VALUE|DEFAULT: iai.rate_limit for the whole cluster (a
# SIGHUP setting), back to the command line's 0 with DEFAULT; waits until a
# new session sees it (the postmaster has signalled every process by then).
set_rate_limit() {
	local want=$1
	if [ "$want" = DEFAULT ]; then
		q -c "ALTER SYSTEM RESET iai.rate_limit" -c "SELECT pg_reload_conf()" > /dev/null
		want=0
	else
		q -c "ALTER SYSTEM SET iai.rate_limit = $want" -c "SELECT pg_reload_conf()" > /dev/null
	fi
	for _ in $(seq 1 50); do
		[ "$(q -c 'SHOW iai.rate_limit')" = "$want" ] && return 0
		sleep 0.1
	done
	echo "iai.rate_limit = $want did not take effect" >&2
	return 1
}

# Lines of psql input to follow the commit of CALLS queued calls: wait until
# the worker has delivered them all (and no more), then print µs per call
# from just after the commit to the last one recorded done.
delivered_sql() {
	printf '%s\n' "SELECT clock_timestamp() AS committed \\gset" \
		"CALL bench_drain($1, 120);" \
		"SELECT extract(epoch FROM max(done_at) - :'committed') * 1e6 / $1 FROM iai_queue;"
}

# record NAME VALUE FIRST LAST: one m line of raw.tsv
record() { printf 'm\t%s\t%s\t%s\t%s\n' "$@" >> "$raw"; }

# CPU time (user + system) the process PID has used so far, in µs
cpu_us() {
	sed 's/.*) //' "/proc/$1/stat" |
		awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", ($12 + $13) * 1e6 / hz }'
}

# µs per row of a statement over M rows that took $1 ms
per_row() { awk -v ms="$1" -v m="$M" 'BEGIN { print ms * 1000 / m }'; }

# measure NAME CALLS COMMAND...: record the first word of COMMAND's last
# output line (µs per call) and the range of endpoint requests it made (CALLS of them).
measure() {
	local name=$1 calls=$2 from out to
	shift 2
	from=$(lines)
	out=$("$@")
	to=$(settle $((from + calls)))
	out=${out##*$'\n'}		# the last line; a warm-up may print one before
	record "$name" "${out%% *}" "$((from + 1))" "$to"
}

# µs per call of a statement over generate_series(1, N), in a new session.
# PL/Python's interpreter start and imports happen before the clock starts
# (iai is preloaded and initialised in the postmaster); each session's first
# connection to the endpoint is timed, for both.
timed_sql() {
	local call=$1 warm=()
	[ -n "${2:-}" ] && warm=(-c "$2")
	q "${warm[@]}" -c "SELECT bench_time(\$\$SELECT count($call) FROM generate_series(1, $N) i\$\$, $N)"
}

say "database: iai, the trigger table, PL/Python"
for try in $(seq 1 30); do
	# the installed extension may be replaced under us for a moment
	q -c "CREATE EXTENSION iai" && break
	[ "$try" -lt 30 ] || { echo "CREATE EXTENSION iai keeps failing" >&2; exit 1; }
	sleep 2
done
q -f bench/setup.sql
q -f bench/plpython.sql
fact postgresql "$(q -c 'SHOW server_version')"

say "the PL/Python signer equals the C signer and the SDK's vector"
vector=$("${PYTHON:-python3}" -c '
import json
v = json.load(open("test/tc3-vectors.json"))["vectors"][0]
i = v["inputs"]
print("\n".join([v["id"], i["secretId"], i["secretKey"], v["signed_host"],
                 str(i["timestamp"]), i["payload"], v["authorization"]]))')
mapfile -t v <<< "$vector"
c_auth=$("$BENCH_WORK/sign" --auth "${v[1]}" "${v[2]}" "${v[3]}" "${v[4]}" "${v[5]}")
py_auth=$(q -v id="${v[1]}" -v key="${v[2]}" -v host="${v[3]}" -v ts="${v[4]}" -v payload="${v[5]}" \
	<<< "SELECT bench_py_tc3(:'id', :'key', :'host', :'ts', :'payload');")
if [ "$c_auth" != "${v[6]}" ] || [ "$py_auth" != "${v[6]}" ]; then
	printf 'signatures differ for vector %s:\n  SDK:       %s\n  C:         %s\n  PL/Python: %s\n' \
		"${v[0]}" "${v[6]}" "$c_auth" "$py_auth" >&2
	exit 1
fi
fact signer_check "vector ${v[0]} of test/tc3-vectors.json: C signer = PL/Python signer = SDK"

say "$R rounds of: floor, SQL function, trigger, PL/Python, signing (N=$N)"
for rep in $(seq 1 "$R"); do
	measure a "$N" "$BENCH_WORK/floor" "$BENCH_URL" "$BENCH_WORK/ca.pem" "$N" \
		"$BENCH_SECRET_ID" "$BENCH_SECRET_KEY"
	measure b "$N" timed_sql "iai_delete_person_from_group('p' || i, 'G')"
	# refilled untimed; TRUNCATE fires no row trigger
	q -c "TRUNCATE bench_people" -c "INSERT INTO bench_people SELECT generate_series(1, $N)" \
		-c "VACUUM ANALYZE bench_people"
	measure c "$N" q -c "SELECT bench_time('DELETE FROM bench_people', $N)"
	measure d "$N" timed_sql "bench_py_delete('p' || i, 'G')" "SELECT bench_py_init()"
	measure e_c 0 "$BENCH_WORK/sign" "$SIGN_ITERATIONS"
	measure e_py 0 timed_sql "bench_py_sign('p' || i, 'G')" "SELECT bench_py_init()"
	echo "   round $rep/$R done"
done

say "after-commit mode: the queue worker, serving this database"
# enqueueing is refused where no worker serves the database, and warns
# while the worker is not running
serving="SELECT worker_alive AND worker_database = current_database() FROM iai_queue_status"
for _ in $(seq 1 100); do
	[ "$(q -c "$serving")" = t ] && break
	sleep 0.1
done
if [ "$(q -c "$serving")" != t ]; then
	q -x -c "SELECT * FROM iai_queue_status" >&2
	echo "no running iai worker serves database $(q -c 'SELECT current_database()')" >&2
	exit 1
fi

say "$R rounds of: (g) INSERT and DELETE of M rows, without and with the async trigger; (h) delivery of the latter's calls (M=$M)"
for rep in $(seq 1 "$R"); do
	# every statement starts from an empty, vacuumed table and an empty queue
	q -c "TRUNCATE iai_queue, bench_queue_rows" -c "VACUUM bench_plain" -c "VACUUM bench_async"
	worker=$(q -c "SELECT worker_pid FROM iai_queue_status")
	cpu0=$(cpu_us "$worker")
	from=$(lines)
	# psql's \timing: each statement until its commit is acknowledged; the
	# DELETE's calls go out after its commit, outside its timing
	out=$(q <<-EOF
		\timing on
		INSERT INTO bench_plain SELECT generate_series(1, $M);
		DELETE FROM bench_plain;
		INSERT INTO bench_async SELECT generate_series(1, $M);
		DELETE FROM bench_async;
		INSERT INTO bench_queue_rows (action, params, enqueued_by)
		    SELECT 'DeletePersonFromGroup', jsonb_build_object('PersonId', i::text, 'GroupId', 'G'), current_user
		    FROM generate_series(1, $M) i;
		\timing off
		$(delivered_sql "$M")
	EOF
	)
	to=$(settle $((from + M)))
	# the worker is idle but for delivering the DELETE's calls
	cpu1=$(cpu_us "$worker")
	[ "$(q -c "SELECT worker_pid FROM iai_queue_status")" = "$worker" ] ||
		{ echo "the iai worker restarted during round $rep (see the server log)" >&2; exit 1; }
	mapfile -t ms < <(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<< "$out")
	[ "${#ms[@]}" = 5 ] || { printf 'unexpected output of psql:\n%s\n' "$out" >&2; exit 1; }
	record g_plain_delete "$(per_row "${ms[1]}")" 1 0
	record g_insert "$(per_row "${ms[2]}")" 1 0
	record g_delete "$(per_row "${ms[3]}")" 1 0
	record g_queue_rows "$(per_row "${ms[4]}")" 1 0
	record h "${out##*$'\n'}" "$((from + 1))" "$to"
	record h_cpu "$(((cpu1 - cpu0) / M))" 1 0
	echo "   round $rep/$R done"
done

say "after-commit mode at iai.rate_limit = 50: 500 calls queued in one transaction"
set_rate_limit 50
q -c "TRUNCATE iai_queue"
from=$(lines)
out=$(q <<-EOF
	\o /dev/null
	SELECT count(iai_enqueue_delete_person_from_group('r' || i, 'G')) FROM generate_series(1, 500) i;
	\o
	$(delivered_sql 500)
EOF
)
to=$(settle $((from + 500)))
record h50 "$out" "$((from + 1))" "$to"
set_rate_limit DEFAULT

say "backend memory: 1,000 calls, then 100,000 more in the same session"
script=$BENCH_WORK/memory.sql
call="SELECT count(iai_delete_person_from_group('m' || i, 'G')) FROM generate_series(1, 1000) i;"
rss="SELECT substring(pg_read_file('/proc/self/status') FROM 'VmRSS:\\s*(\\d+)')"
{
	printf '%s\n' '\o /dev/null'
	echo "$call"
	echo "$rss AS rss_before \\gset"
	# 100 statements of 1,000 calls: one huge statement would also measure
	# the executor's memory for 100,000 rows, not the calls'
	for _ in $(seq 1 100); do echo "$call"; done
	echo "$rss AS rss_after \\gset"
	printf '%s\n' '\echo :rss_before :rss_after'
} > "$script"
from=$(lines)
out=$(q -f "$script")
read -r before after <<< "$out"
to=$(settle $((from + 101000)))
record mem 0 "$((from + 1))" "$to"
fact rss_before_kib "$before"
fact rss_after_kib "$after"

say "throttle: iai.rate_limit = 50, 4 sessions x 75 calls"
set_rate_limit 50
from=$(lines)
pids=()
for s in 0 1 2 3; do
	q -c "SELECT count(iai_delete_person_from_group('t' || i, 'G')) FROM generate_series($((s * 75 + 1)), $((s * 75 + 75))) i" > /dev/null &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
to=$(settle $((from + 300)))
record throttle 0 "$((from + 1))" "$to"
set_rate_limit DEFAULT
