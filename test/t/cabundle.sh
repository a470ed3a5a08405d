#!/usr/bin/env bash
# A server without the system's CA bundle (a minimal machine without the
# ca-certificates package): an https call with iai.ca_file empty fails with
# an error naming the missing file and what to install or set, not with
# libcurl's own words, and nothing is sent.  The server is restarted in a
# mount namespace of its own where the bundle's directory is an empty
# tmpfs, then restarted normally.  Runs inside pg_virtualenv, as root.
set -euo pipefail
. "$(dirname "$0")/tap.sh"

bundle=$(curl-config --ca 2>/dev/null || true)
[ -n "$bundle" ] || bundle=/etc/ssl/certs/ca-certificates.crt
trap 'restart_cluster >/dev/null' EXIT

pg_ctlcluster "$PGVERSION" regress stop
# the postmaster stays in the namespace after unshare's shell has gone
# (everything else in that directory stays: the server's own certificate)
keep=$(mktemp -d /tmp/iai-certs.XXXXXX)
cp -a "$(dirname "$bundle")/." "$keep/"
rm -f "$keep/$(basename "$bundle")"
if ! unshare --mount --propagation private sh -c \
	"mount -t tmpfs iai-test-certs '$(dirname "$bundle")' && cp -a '$keep/.' '$(dirname "$bundle")/' &&
	 pg_ctlcluster '$PGVERSION' regress start"; then
	rm -rf "$keep"
	pg_ctlcluster "$PGVERSION" regress start
	# e.g. in a chroot whose root is not a mount point
	echo "ok 1 # skip no private mount namespace here"
	echo "1..1"
	exit 0
fi
rm -rf "$keep"
wait_until "true" 10

mock_ctl "group?id=CaGroup&persons=ca1" >/dev/null
before=$(mock_ctl count)
out=$(psql -X -q -At -d "$db" 2>&1 <<SQL || true
SET iai.endpoint = 'https://127.0.0.1:${IAI_MOCK_HTTPS_PORT:-58443}';
SET iai.ca_file = '';
\set VERBOSITY verbose
SELECT iai_delete_person_from_group('ca1', 'CaGroup');
SQL
)
like "$out" "ERROR:  08001: system CA certificate file \"$bundle\" is missing" \
	"the error names the missing CA bundle"
like "$out" "HINT:  Install the ca-certificates package, or set \"iai.ca_file\"" \
	"... and says what to install or set"
is "$(mock_ctl count)" "$before" "... and nothing reached the endpoint"

# With iai.ca_file naming a CA, the same server works.
out=$(psql -X -q -At -d "$db" 2>&1 <<SQL || true
SET iai.endpoint = 'https://127.0.0.1:${IAI_MOCK_HTTPS_PORT:-58443}';
SET iai.ca_file = '$(psql -X -At -c "SHOW iai_test.mock_dir")/ca.pem';
SELECT iai_delete_person_from_group('ca1', 'CaGroup') IS NOT NULL;
SQL
)
is "$out" "t" "with iai.ca_file set, calls work without the system bundle"

done_testing
