#!/usr/bin/env bash
# Runs inside pg_virtualenv (see test/check): the pg_regress suite, then
# ("all", the default) the script tests, which need the background worker
# (shared_preload_libraries = 'iai'), restart or crash the server and check
# its log; "regress" runs the pg_regress suite alone.  The secrets check
# reads the log of everything before it, so it comes last.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
echo "# PostgreSQL $(psql -X -At -c 'SHOW server_version'), shared_preload_libraries = '$(psql -X -At -c 'SHOW shared_preload_libraries')'"

if ! make -s installcheck; then
	[ -f regression.diffs ] && cat regression.diffs
	exit 1
fi
[ "$what" = regress ] && exit 0
for t in cancel credentials queue crash bulk throttle secrets; do
	bash "test/t/$t.sh"
done
