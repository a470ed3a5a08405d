#!/usr/bin/env bash
# Runs inside pg_virtualenv (see test/check): the pg_regress suite, then
# ("all", the default) the script tests, which need the background worker
# (shared_preload_libraries = 'iai'), restart or crash the server and check
# its log; "regress" runs the pg_regress suite alone.  The secrets check
# reads the log of everything before it, so it comes last.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh
what=${1:-all}
preload=$(psql -X -At -c 'SHOW shared_preload_libraries')
echo "# PostgreSQL $(psql -X -At -c 'SHOW server_version'), $(psql -X -At -c 'SHOW server_encoding'), shared_preload_libraries = '$preload'"

# Not preloaded: the mock's credentials go in the server's environment (see
# cluster_options in test/lib.sh).
if [ "$preload" != iai ]; then
	printf '%s\n' "TENCENTCLOUD_SECRET_ID='$IAI_MOCK_SECRET_ID'" \
		"TENCENTCLOUD_SECRET_KEY='$IAI_MOCK_SECRET_KEY'" \
		> "$PG_CLUSTER_CONF_ROOT/$PGVERSION/regress/environment"
	pg_ctlcluster "$PGVERSION" regress restart
fi

if ! make -s installcheck; then
	[ -f regression.diffs ] && cat regression.diffs
	exit 1
fi
[ "$what" = regress ] && exit 0
for t in cancel credentials rolecreds queue outage databases signals crash bulk throttle inflight cabundle encoding refused proxy schema secrets; do
	bash "test/t/$t.sh"
done
