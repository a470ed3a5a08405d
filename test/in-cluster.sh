#!/usr/bin/env bash
# Runs inside pg_virtualenv (see test/check): the pg_regress suite, then the
# script tests that need to restart the server with another environment.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! make -s installcheck; then
	[ -f regression.diffs ] && cat regression.diffs
	exit 1
fi
for t in test/t/*.sh; do
	bash "$t"
done
