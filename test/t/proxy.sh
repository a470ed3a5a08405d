#!/usr/bin/env bash
# iai.proxy: by default calls go directly, whatever proxy the server's
# environment names; 'environment' follows http_proxy, https_proxy and
# no_proxy; an explicit proxy is used even for hosts no_proxy names.
# Rewrites the cluster's environment file and restarts it; a small
# forwarding proxy (test/proxy_log.py) notes what it is asked.  Runs inside
# pg_virtualenv, preloaded (the credentials are in postgresql.conf).
set -euo pipefail
. "$(dirname "$0")/tap.sh"

cluster_env="$PG_CLUSTER_CONF_ROOT/$PGVERSION/regress/environment"
work=$(mktemp -d /tmp/iai-proxy.XXXXXX)
chmod 755 "$work"
port=31093
proxy="http://127.0.0.1:$port"
"${PYTHON:-python3}" "$(dirname "$0")/../proxy_log.py" "$work/log" "$port" &
proxy_pid=$!
trap 'kill $proxy_pid 2>/dev/null; rm -rf "$work"; : > "$cluster_env"; restart_cluster' EXIT
touch "$work/log"
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done

restart_with_env() {
	printf '%s\n' "$@" > "$cluster_env"
	restart_cluster
}

# call [SET ...;]: one call in a new session; prints its result or error.
call() {
	psql -X -q -At -d "$db" 2>&1 <<-SQL || true
	$1
	SELECT iai_call('GetPersonGroupInfo', '{"PersonId": "x1"}') ->> 'GroupNum' = '1';
	SQL
}
# asked [SET ...;]: what the proxy was asked during one call; the call's
# output is left in $work/out.
asked() { : > "$work/log"; call "$1" > "$work/out"; sleep 0.2; cat "$work/log"; }

mock_ctl reset >/dev/null
mock_ctl "group?id=ProxyGroup&persons=x1" >/dev/null
ca=$(q "SELECT current_setting('iai_test.mock_dir') || '/ca.pem'")
https="SET iai.endpoint = 'https://127.0.0.1:58443'; SET iai.ca_file = '$ca';"

restart_with_env "http_proxy='$proxy'" "https_proxy='$proxy'" "HTTPS_PROXY='$proxy'" "ALL_PROXY='$proxy'"
is "$(asked '')" "" "default: the environment's proxy is not used (http)"
is "$(cat "$work/out")" "t" "... and the call goes through directly"
is "$(asked "$https")" "" "default: the environment's proxy is not used (https)"
is "$(cat "$work/out")" "t" "... and the call goes through directly"
is "$(asked "SET iai.proxy = 'environment';")" "POST http://127.0.0.1:58080/" "'environment': http_proxy is used"
is "$(cat "$work/out")" "t" "... and the call goes through the proxy"
is "$(asked "SET iai.proxy = 'environment'; $https")" "CONNECT 127.0.0.1:58443" "'environment': https_proxy is used, through a tunnel"
is "$(cat "$work/out")" "t" "... and the call goes through the proxy, TLS verified end to end"

restart_with_env "no_proxy='127.0.0.1'" "http_proxy='http://127.0.0.1:9'"
is "$(asked "SET iai.proxy = '$proxy';")" "POST http://127.0.0.1:58080/" "an explicit proxy is used"
is "$(cat "$work/out")" "t" "... although no_proxy names the host"
is "$(asked "SET iai.proxy = 'environment';")" "" "'environment' honours no_proxy"
is "$(cat "$work/out")" "t" "... and the call goes through directly"
like "$(call "SET iai.proxy = 'http://127.0.0.1:9';")" 'could not connect' "a proxy that does not answer is an error, not a direct call"

done_testing
