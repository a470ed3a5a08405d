#!/usr/bin/env bash
# Credential sources other than the settings: the server's environment and
# the SDK credentials file.  Runs inside pg_virtualenv (root): rewrites the
# throwaway cluster's environment file and restarts it.
set -euo pipefail
. "$(dirname "$0")/tap.sh"

cluster_env="$PG_CLUSTER_CONF_ROOT/$PGVERSION/regress/environment"
home=$(mktemp -d /tmp/iai-home.XXXXXX)
chown postgres: "$home"
trap 'rm -rf "$home"; : > "$cluster_env"; restart_cluster' EXIT

restart_with_env() {
	printf '%s\n' "$@" > "$cluster_env"
	restart_cluster
}

# Calls made with the settings cleared, so other sources are consulted.
call() {
	psql -X -q -At -v ON_ERROR_STOP=1 -d contrib_regression 2>&1 <<-SQL || true
	SET iai.secret_id = '';
	SET iai.secret_key = '';
	SELECT iai_delete_person_from_group('$1', 'CredGroup');
	SQL
}

mock_ctl "reset" >/dev/null
mock_ctl "group?id=CredGroup&persons=e1,e2,e3,i1,i2" >/dev/null
mock_ctl "credential?id=AKIDmockIniFileKey0000000000000000003&key=mockIniFileSecretKey0000000000003" >/dev/null

# 1. environment variables
restart_with_env "TENCENTCLOUD_SECRET_ID='AKIDiaiAcceptanceEXAMPLE0000000000000'" \
	"TENCENTCLOUD_SECRET_KEY='iaiAcceptanceSecretKeyEXAMPLE000'" "HOME='$home'"
out=$(call e1)
is "$out" "00000000-0000-4000-8000-000000000001" "credentials from TENCENTCLOUD_SECRET_ID/_KEY"
like "$(last_request)" '"verdict": "OK"' "the mock accepted the environment's key"
like "$(last_request)" 'Credential=AKIDiaiAcceptanceEXAMPLE0000000000000/' "signed with the environment's SecretId"

restart_with_env "TENCENTCLOUD_SECRET_ID='AKIDmockTemporaryKey000000000000000002'" \
	"TENCENTCLOUD_SECRET_KEY='mockTemporarySecretKey00000000002'" \
	"TENCENTCLOUD_SESSION_TOKEN='mock-session-token-0002'" "HOME='$home'"
out=$(call e2)
like "$out" '^00000000-0000-4000-8000-' "temporary credentials from the environment"
like "$(last_request)" '"x-tc-token": "mock-session-token-0002"' "TENCENTCLOUD_SESSION_TOKEN sent as X-TC-Token"

restart_with_env "TENCENTCLOUD_SECRET_ID='AKIDiaiAcceptanceEXAMPLE0000000000000'" "HOME='$home'"
before=$(mock_ctl count)
out=$(call e3)
like "$out" 'only one of TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY' "half a pair in the environment is an error"
is "$(mock_ctl count)" "$before" "... and nothing was sent"

restart_with_env "TENCENTCLOUD_SECRET_ID='AKIDiaiAcceptanceEXAMPLE0000000000000'" \
	"TENCENTCLOUD_SECRET_KEY='iaiAcceptanceSecretKeyEXAMPLE000 '" "HOME='$home'"
out=$(call e3)
like "$out" 'TENCENTCLOUD_SECRET_KEY has leading or trailing whitespace' "a key with a trailing space is refused"
unlike "$out" 'iaiAcceptanceSecretKeyEXAMPLE000' "... without showing the key"

# 2. the SDK credentials file of the server's OS user
mkdir -p "$home/.tencentcloud"
cat > "$home/.tencentcloud/credentials" <<-INI
	[other]
	secret_id = AKIDiaiAcceptanceEXAMPLE0000000000000
	secret_key = iaiAcceptanceSecretKeyEXAMPLE000

	[default]
	# comments and spacing as the SDKs allow
	secret_id = AKIDmockIniFileKey0000000000000000003
	secret_key=mockIniFileSecretKey0000000000003
INI
chown -R postgres: "$home/.tencentcloud"
chmod 600 "$home/.tencentcloud/credentials"
restart_with_env "HOME='$home'"
out=$(call i1)
like "$out" '^00000000-0000-4000-8000-' "credentials from ~/.tencentcloud/credentials [default]"
like "$(last_request)" 'Credential=AKIDmockIniFileKey0000000000000000003/' "signed with the file's [default] SecretId"

# a changed file is read again
sed -i 's/AKIDmockIniFileKey0000000000000000003/AKIDmockIniFileKeyREVOKED00000000003/' "$home/.tencentcloud/credentials"
touch -d '+2 seconds' "$home/.tencentcloud/credentials"
out=$(psql -X -q -At -d contrib_regression 2>&1 <<-SQL || true
	SET iai.secret_id = '';
	SET iai.secret_key = '';
	SELECT iai_delete_person_from_group('i2', 'CredGroup');
	SELECT iai_delete_person_from_group('i2', 'CredGroup');
SQL
)
like "$out" 'AuthFailure.SecretIdNotFound' "an edited credentials file takes effect without a restart"

# 3. nowhere
rm -f "$home/.tencentcloud/credentials"
out=$(call i2)
like "$out" 'no Tencent Cloud credentials are configured' "no credentials anywhere: clear error"
like "$out" "$home/.tencentcloud/credentials" "... naming the file it looked for"

# the settings still win over the environment
restart_with_env "TENCENTCLOUD_SECRET_ID='AKIDmockNoSuchKey00000000000000000000'" \
	"TENCENTCLOUD_SECRET_KEY='whatever'" "HOME='$home'"
out=$(psql -X -At -d contrib_regression -c "SELECT iai_delete_person_from_group('i2', 'CredGroup')" 2>&1 || true)
like "$out" '^00000000-0000-4000-8000-' "iai.secret_id/secret_key take precedence over the environment"

done_testing
