#!/usr/bin/env bash
# iai.rate_limit paces every backend together (shared memory): 500 calls
# from 4 concurrent sessions at 50/s take at least 9.8 s and no one-second
# window at the endpoint holds more than 50 requests.  Runs inside
# pg_virtualenv with iai in shared_preload_libraries.
set -euo pipefail
. "$(dirname "$0")/tap.sh"

is "$(psql -X -At -c 'SHOW iai.rate_limit')" "50" "the default rate limit is the action's documented 50/s"

mock_ctl reset >/dev/null
persons=$(seq -f 't%g' 1 500 | paste -sd, -)
mock_ctl "group?id=T&persons=$persons" >/dev/null

start=$(date +%s%N)
for s in 0 1 2 3; do
	psql -X -q -At -d "$db" -c \
		"SELECT count(iai_delete_person_from_group('t' || i, 'T')) FROM generate_series($((s * 125 + 1)), $((s * 125 + 125))) i" \
		> /dev/null &
done
wait
elapsed_ms=$((($(date +%s%N) - start) / 1000000))

stats=$(curl -sS "$mock_url/_mock/log" | "${PYTHON:-python3}" -c '
import json, sys
reqs = json.load(sys.stdin)["requests"]
t = sorted(r["t"] for r in reqs)
ok = sum(r["verdict"] == "OK" for r in reqs)
j, worst = 0, 0
for i in range(len(t)):
    while t[i] - t[j] >= 1.0:
        j += 1
    worst = max(worst, i - j + 1)
print(len(reqs), ok, worst)')
read -r total okcount worst <<< "$stats"
echo "# 500 calls from 4 sessions at 50/s: ${elapsed_ms} ms; busiest one-second window at the endpoint: ${worst} requests"
is "$total" "500" "500 requests reached the endpoint"
is "$okcount" "500" "... all accepted"
ok "[ $elapsed_ms -ge 9800 ]" "they took at least 9.8 s (${elapsed_ms} ms)"
ok "[ $worst -le 50 ]" "no one-second window held more than 50 (${worst})"

# 0 turns the limit off
set_rate_limit 0
mock_ctl reset >/dev/null
mock_ctl "group?id=T&persons=$(seq -f 'u%g' 1 200 | paste -sd, -)" >/dev/null
start=$(date +%s%N)
psql -X -q -At -d "$db" -c "SELECT count(iai_delete_person_from_group('u' || i, 'T')) FROM generate_series(1, 200) i" >/dev/null
off_ms=$((($(date +%s%N) - start) / 1000000))
set_rate_limit default
echo "# 200 calls with iai.rate_limit = 0: ${off_ms} ms"
ok "[ $off_ms -lt 3000 ]" "iai.rate_limit = 0 does not pace (200 calls in ${off_ms} ms)"

done_testing
