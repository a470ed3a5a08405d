#!/usr/bin/env bash
# Runs inside pg_virtualenv (see test/check): the pg_regress suite, then the
# script tests, which restart or crash the server and check its log.  The
# secrets check reads the log of everything before it, so it comes last.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! make -s installcheck; then
	[ -f regression.diffs ] && cat regression.diffs
	exit 1
fi
for t in cancel credentials queue crash bulk throttle secrets; do
	bash "test/t/$t.sh"
done
