#!/usr/bin/env bash
# Runs in a cluster with iai preloaded, its worker serving contrib_regression
# and iai_test.mock_url pointing at test/mock_iai.py (see bench/wan; the
# script tests' cluster will do too).  For each answer delay: one session's
# calls per second, and the worker's drain rate, at iai.rate_limit 50 and 0.
set -euo pipefail
cd "$(dirname "$0")/.."

db=contrib_regression
mock_url=$(psql -X -At -c "SHOW iai_test.mock_url")
delays=${WAN_DELAYS:-0 30 150 300}
seconds=${WAN_SECONDS:-10}
out=bench/out/wan.md
mkdir -p bench/out

q() { psql -X -q -At -d "$db" -c "$1"; }
mock_ctl() { curl -sS --max-time 30 "$mock_url/_mock/$1" >/dev/null; }
set_rate_limit() {
	psql -X -q -c "ALTER SYSTEM SET iai.rate_limit = $1" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 0.5
}
in_flight=$(q "SHOW iai.queue_max_in_flight" 2>/dev/null || echo 1)

# calls N at RATE, RTT ms: sized to take about $seconds at the ideal rate
calls_for() {
	awk -v rate="$1" -v rtt="$2" -v w="$3" -v s="$seconds" 'BEGIN {
		ideal = (rtt > 0) ? w * 1000 / rtt : 1e9
		if (rate > 0 && rate < ideal) ideal = rate
		if (ideal > 400) ideal = 400
		n = int(ideal * s); if (n < 20) n = 20; print n }'
}
ideal() {
	awk -v rate="$1" -v rtt="$2" -v w="$3" 'BEGIN {
		i = (rtt > 0) ? w * 1000 / rtt : 0
		if (rate > 0 && (i == 0 || rate / 1.06 < i)) i = rate / 1.06	# the pacing margin
		if (i == 0) print "-"; else printf "%.1f\n", i }'
}

# people PREFIX N: a fresh mock with group W holding PREFIX1..PREFIXN
people() {
	mock_ctl reset
	for ((i = 1; i <= $2; i += 500)); do
		mock_ctl "group?id=W&persons=$(seq -f "$1%g" "$i" $((i + 499 < $2 ? i + 499 : $2)) | paste -sd, -)"
	done
}

# one session, back to back, after a first (warm-up) call
session_rate() {
	local n=$1
	people s "$n"
	mock_ctl "group?id=W&persons=s0"
	mock_ctl "config?delay_ms=$2"
	q "SELECT iai_delete_person_from_group('s0', 'W')" >/dev/null
	psql -X -q -At -d "$db" <<-SQL
	SELECT clock_timestamp() AS t0 \gset
	SELECT count(iai_delete_person_from_group('s' || i, 'W')) FROM generate_series(1, $n) i \g /dev/null
	SELECT round(($n / extract(epoch FROM clock_timestamp() - :'t0'))::numeric, 1);
	SQL
}

# the worker: queue n calls in one transaction; the steady rate, from the
# first call done to the last (the first round trip is not counted)
worker_rate() {
	local n=$1
	people q "$n"
	mock_ctl "config?delay_ms=$2"
	q "TRUNCATE iai_queue"
	psql -X -q -At -d "$db" <<-SQL
	SELECT count(iai_enqueue_delete_person_from_group('q' || i, 'W')) FROM generate_series(1, $n) i \g /dev/null
	SELECT clock_timestamp() AS t0 \gset
	DO \$\$ BEGIN
	  FOR i IN 1..1200 LOOP
	    EXIT WHEN NOT EXISTS (SELECT FROM iai_queue WHERE state IN ('pending', 'sending'));
	    PERFORM pg_sleep(0.05);
	  END LOOP;
	END \$\$;
	SELECT CASE WHEN count(*) FILTER (WHERE state <> 'done') > 0 THEN 'undelivered: ' || count(*) FILTER (WHERE state <> 'done')
	  ELSE round((($n - 1) / extract(epoch FROM max(done_at) - min(done_at)))::numeric, 1)::text END FROM iai_queue;
	SQL
}

{
	echo "### WAN: calls per second against an endpoint answering after a fixed delay"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), PostgreSQL $(q 'SHOW server_version'), iai.queue_max_in_flight = $in_flight; \`bench/wan\`"
	echo
	echo "| RTT | rate_limit | one session | ideal (1 in flight) | worker | ideal ($in_flight in flight) |"
	echo "|---:|---:|---:|---:|---:|---:|"
} | tee "$out"
for rate in 50 0; do
	set_rate_limit "$rate"
	for d in $delays; do
		s=$(session_rate "$(calls_for "$rate" "$d" 1)" "$d")
		w=$(worker_rate "$(calls_for "$rate" "$d" "$in_flight")" "$d")
		echo "| $d ms | $rate | $s | $(ideal "$rate" "$d" 1) | $w | $(ideal "$rate" "$d" "$in_flight") |" | tee -a "$out"
	done
done
mock_ctl "config?delay_ms=0"
psql -X -q -c "ALTER SYSTEM RESET iai.rate_limit" -c "SELECT pg_reload_conf()" >/dev/null
