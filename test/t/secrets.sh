#!/usr/bin/env bash
# Runs last: the server log of the whole suite (written at
# log_min_messages = debug5, with iai.log_requests = all) holds no secret
# key, token or signature, even after the ways PostgreSQL itself would log
# them: a reloaded configuration ("parameter ... changed to"), statement
# logging of SET, set_config() and ALTER SYSTEM.  One exception, made
# explicit below: at debug3 and below the postmaster dumps its environment
# when it starts, before any library loads, so the credentials that the
# environment-variable test put there appear in that dump and nowhere else.
# Runs inside pg_virtualenv.
set -euo pipefail
. "$(dirname "$0")/tap.sh"

log=$(pg_lsclusters --no-header | awk '$2 == "regress" { print $NF }')
[ -f "$log" ] || { echo "no server log found" >&2; exit 1; }
is "$(psql -X -At -c 'SHOW log_min_messages')" "debug5" "the suite ran at log_min_messages = debug5"

# What PostgreSQL logs by itself when secrets change or are typed.
psql -X -q -d contrib_regression >/dev/null 2>&1 <<'SQL'
SET log_statement = 'all';
SET iai.secret_key = 'NewSecretValueBySET000001';
SELECT set_config('iai.session_token', 'NewTokenValueBySetConfig01', false);
ALTER SYSTEM SET iai.secret_key = 'NewSecretValueAlterSystem01';
ALTER SYSTEM SET iai.session_token TO 'NewTokenValueAlterSystem01';
SET iai /* spaced */ . secret_key
    = 'NewSecretValueSpelledOdd01';
SET "iai"."secret_key" = 'NewSecretValueQuotedBoth01';
SET "iai.secret_key" TO 'NewSecretValueQuotedWhole1';
SET "iai".secret_key = 'NewSecretValueQuotedFirst1';
SET iai."secret_key" = 'NewSecretValueQuotedLast01';
SET "IAI"."SECRET_KEY" = 'NewSecretValueQuotedUpper1';
SELECT pg_reload_conf();
SELECT pg_sleep(1);
SELECT iai_delete_person_from_group('nobody', 'nogroup');
ALTER SYSTEM RESET iai.secret_key;
ALTER SYSTEM RESET iai.session_token;
SELECT pg_reload_conf();
SELECT pg_sleep(1);
SQL

# PostgreSQL's own startup dump of the environment, and the rest.
envdump=$(mktemp)
rest=$(mktemp)
trap 'rm -f "$envdump" "$rest"' EXIT
# (up to PostgreSQL 17 a line per variable between two rulers; from 18 one
# message whose lines after the first carry no log line prefix)
awk -v dump="$envdump" -v rest="$rest" '
	/initial environment dump:/ { inside = 1; ruled = /PostmasterMain:/; dashes = 0; print > dump; next }
	inside && ruled { print > dump; if ($0 ~ /-----------------------------------------$/ && ++dashes == 2) inside = 0; next }
	inside && !/^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / { print > dump; next }
	{ inside = 0; print > rest }' "$log"
ok "[ -s '$envdump' ]" "PostgreSQL dumped the postmaster's environment at startup ($(wc -l < "$envdump") lines)"
like "$(cat "$envdump")" 'TENCENTCLOUD_SECRET_KEY=' "... which holds the environment-variable test's credentials"
log=$rest

like "$(cat "$log")" 'iai: DeletePersonFromGroup PersonId=' "the log holds iai.log_requests lines"
like "$(cat "$log")" 'parameter "iai.secret_key" \*\*\*\*\*\*\*\*' "PostgreSQL's 'changed to' line for a secret is masked"
like "$(cat "$log")" 'statement: SET iai.secret_key \*\*\*\*\*\*\*\*' "a logged SET of a secret is masked"
like "$(cat "$log")" 'statement: SET "iai"."secret_key" \*\*\*\*\*\*\*\*' "... also with the name quoted"
secrets=(
	mockPermanentSecretKey00000000001 mockTemporarySecretKey00000000002
	mock-session-token-0002 iaiAcceptanceSecretKeyEXAMPLE000
	mockIniFileSecretKey0000000000003 debug-token-never-shown
	NewSecretValueBySET000001 NewTokenValueBySetConfig01
	NewSecretValueAlterSystem01 NewTokenValueAlterSystem01 NewSecretValueSpelledOdd01
	# temporary credentials from the CVM role and TKE workload identity (rolecreds.sh)
	mockRoleSecretKeyA00000000000000001 roleTokenA mockRoleSecretKeyB00000000000000002
	mock-role-token-B-000002 mockRoleSecretKeyC00000000000000003 mock-role-token-C-000003
	mockRoleSecretKeyD00000000000000004 mock-role-token-D-000004 mockBrokenSecretKey
	mock-broken-token-08 mockBadCodeKey mockOidcSecretKey mock-oidc-token-00000
	mockWebIdentityToken mockRegressRoleSecretKey0000000005 mock-regress-role-token-05
	NewSecretValueQuotedBoth01 NewSecretValueQuotedWhole1 NewSecretValueQuotedFirst1
	NewSecretValueQuotedLast01 NewSecretValueQuotedUpper1
)
for s in "${secrets[@]}"; do
	is "$(grep -c -- "$s" "$log" || true)" "0" "no '$s' in the other $(wc -l < "$log") log lines"
done
is "$(grep -cE 'Signature=[0-9a-f]{64}' "$log" || true)" "0" "no request signature in the log"
is "$(grep -ci 'X-TC-Token' "$log" || true)" "0" "no X-TC-Token header in the log"

done_testing
