#!/usr/bin/env bash
# Temporary credentials from a role: the CVM instance role (the mock's
# metadata service) and TKE workload identity (the mock's STS).  Signed with
# the temporary SecretId and its token (the mock verifies both); shared by
# concurrent backends (one fetch, not one each); refreshed before expiry
# while calls go on, without a failed call; renewed once when the service
# refuses them; every failure of the source a clear error.  Runs inside
# pg_virtualenv with iai preloaded: sets iai.* with ALTER SYSTEM, restarts
# the cluster with TKE_* in its environment.
set -euo pipefail
. "$(dirname "$0")/tap.sh"

cluster_env="$PG_CLUSTER_CONF_ROOT/$PGVERSION/regress/environment"
work=$(mktemp -d /tmp/iai-role.XXXXXX)
chmod 755 "$work"
cleanup() {
	psql -X -q -c "ALTER SYSTEM RESET iai.metadata_url" -c "ALTER SYSTEM RESET iai.cvm_role" \
		-c "ALTER SYSTEM RESET iai.sts_endpoint" -c "ALTER SYSTEM RESET iai.credentials_refresh_margin" \
		>/dev/null 2>&1 || true
	: > "$cluster_env"
	restart_cluster >/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# conf NAME VALUE ...: ALTER SYSTEM SET each, then reload.
conf() {
	while [ $# -gt 0 ]; do
		psql -X -q -c "ALTER SYSTEM SET $1 = '$2'" >/dev/null
		shift 2
	done
	psql -X -q -c "SELECT pg_reload_conf()" >/dev/null
	sleep 0.3
}

# call PERSON [SOURCE]: one call in a new session; the RequestId or the error.
call() {
	psql -X -q -At -d "$db" -v ON_ERROR_STOP=1 2>&1 <<-SQL || true
	SET iai.credentials = '${2:-cvm_role}';
	SELECT iai_delete_person_from_group('$1', 'RoleGroup');
	SQL
}

# failure PERSON [SOURCE] [SETTINGS]: the SQLSTATE, message and detail of a failed call.
failure() {
	psql -X -q -At -d "$db" 2>&1 <<-SQL || true
	SET iai.credentials = '${2:-cvm_role}';
	${3:-}
	DO \$\$
	DECLARE s text; m text; d text;
	BEGIN
		PERFORM iai_delete_person_from_group('$1', 'RoleGroup');
		RAISE NOTICE 'no error';
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
		RAISE NOTICE '% | % | %', s, m, d;
	END
	\$\$;
	SQL
}

json() { "${PYTHON:-python3}" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
meta() { mock_ctl metadata | json "d['$1']"; }
sts_count() { mock_ctl "count?action=AssumeRoleWithWebIdentity" | json "d['count']"; }
log_json() { curl -sS --max-time 30 "$mock_url/_mock/log"; }
# how many logged API requests were signed with SecretId $1 (and verdict $2)
signed_with() {
	log_json | json "sum(1 for r in d['requests'] if 'Credential=$1/' in r['headers'].get('authorization','') and ('${2:-}' == '' or r['verdict'] == '${2:-}'))"
}

persons=$(printf 'p%s,' $(seq 1 200))
mock_ctl reset >/dev/null
mock_ctl "group?id=RoleGroup&persons=${persons%,}" >/dev/null

long_token=$(printf 'roleTokenA%.0s-0123456789abcdef' $(seq 1 150))	# ~3.9 KB, as STS allows
ID_A=AKIDmockRoleA00000000000000000000000001 KEY_A=mockRoleSecretKeyA00000000000000001
ID_B=AKIDmockRoleB00000000000000000000000002 KEY_B=mockRoleSecretKeyB00000000000000002 TOK_B=mock-role-token-B-000002
ID_C=AKIDmockRoleC00000000000000000000000003 KEY_C=mockRoleSecretKeyC00000000000000003 TOK_C=mock-role-token-C-000003
ID_D=AKIDmockRoleD00000000000000000000000004 KEY_D=mockRoleSecretKeyD00000000000000004 TOK_D=mock-role-token-D-000004

# ---- failures of the metadata service, each with settings of its own ----

# no role bound: HTTP 404 on the role list
mock_ctl "role?unbind=1" >/dev/null
conf iai.metadata_url "http://localhost:${mock_url##*:}"
out=$(failure p1)
like "$out" '28000 \| no CAM role is bound to this CVM instance \| The metadata service answered HTTP 404' "no role bound (HTTP 404): 28000, saying so"

# ... which the chain (auto) passes over, and says why when nothing else has credentials
out=$(failure p1 auto "SET iai.secret_id = ''; SET iai.secret_key = '';")
like "$out" '28000 \| no Tencent Cloud credentials are configured for iai \| No CVM role: no CAM role is bound' "auto passes over an instance without a role, and says so"

# a named role the service does not know: 404 on its credentials
mock_ctl "role?name=RoleA&id=$ID_A&key=$KEY_A&token=$long_token" >/dev/null
conf iai.metadata_url "$mock_url" iai.cvm_role NoSuchRole
out=$(failure p1)
like "$out" '28000 \| the CVM metadata service has no credentials for CAM role "NoSuchRole"' "a role the service does not know: 28000"

# a Code other than Success
mock_ctl "role?name=BadCode&id=AKIDmockBadCode000000000000000000000009&key=mockBadCodeKey0000000000000000009&token=t9&code=InternalError&bind=0" >/dev/null
conf iai.cvm_role BadCode
out=$(failure p1)
like "$out" '28000 \| could not get credentials for CAM role "BadCode" from the CVM metadata service \| It answered Code "InternalError" instead of Code "Success"' "Code other than Success: 28000, naming the Code"

# a malformed answer, cut off after the key: never quoted
mock_ctl "role?name=Broken&id=AKIDmockBroken0000000000000000000000008&key=mockBrokenSecretKey000000000000008&token=mock-broken-token-08&answer=malformed&bind=0" >/dev/null
conf iai.cvm_role Broken
out=$(failure p1)
like "$out" '08P01 \| the answer of the CVM metadata service for CAM role "Broken" is not a JSON object' "malformed answer: 08P01"
unlike "$out" 'mockBrokenSecretKey|mock-broken-token' "... which is not quoted"

# the metadata service down: nothing listens
conf iai.metadata_url "http://127.0.0.1:9" iai.cvm_role ""
start=$(date +%s%3N)
out=$(failure p1)
took=$(( $(date +%s%3N) - start ))
like "$out" '08001 \| could not connect to the CVM metadata service \| URL: http://127.0.0.1:9/latest/meta-data/cam/security-credentials/' "metadata service down: 08001"
ok "[ $took -lt 3000 ]" "... at once (the call took $took ms; connecting is limited to 1 s)"
out=$(failure p1)
like "$out" '08001 \| could not connect to the CVM metadata service .*The last attempt failed [0-9]+ s ago' "... and remembered for the next call"

is "$(signed_with AKIDmockRoleA00000000000000000000000001)" "0" "no API request was sent in any of these"

# ---- the chain's order: settings first, without asking the metadata service ----
conf iai.metadata_url "$mock_url" iai.cvm_role ""
before=$(meta requests)
for p in p2 p3 p4; do call $p auto >/dev/null; done
is "$(meta requests)" "$before" "auto with iai.secret_id set: no metadata request (3 calls)"
is "$(signed_with AKIDmockPermanentKey000000000000000001 OK)" "3" "... signed with the settings' key"

# ---- the CVM role: signed with its temporary SecretId, its token sent ----
out=$(call p5)
like "$out" '^00000000-0000-4000-8000-' "iai.credentials = cvm_role: the call succeeds"
req=$(last_request)
like "$req" "Credential=$ID_A/" "... signed with the role's TmpSecretId"
like "$req" '"verdict": "OK"' "... accepted by the mock, which checks the token ($(printf %s "$long_token" | wc -c) bytes)"
ok "grep -qF '\"x-tc-token\": \"$long_token\"' <<< '$req'" "... the role's Token sent as X-TC-Token"
out=$(psql -X -At -d "$db" -c "SET iai.credentials = 'cvm_role'" \
	-c "SELECT value FROM iai_debug_request('DeletePersonFromGroup', '{\"PersonId\":\"x\",\"GroupId\":\"y\"}') WHERE item IN ('credentials', 'header')")
like "$out" "SecretId $ID_A, from the CAM role \"RoleA\" of this CVM instance; temporary, expiring at 20" "iai_debug_request names the source and the expiry"
unlike "$out" "$KEY_A|roleTokenA" "... never the key or the token"
out=$(failure p6 auto "SET iai.secret_id = ''; SET iai.secret_key = '';")
like "$out" 'no error' "auto without settings, environment or file: the CVM role"
like "$(last_request)" "Credential=$ID_A/" "... signed with the role's TmpSecretId"

# ---- 5 concurrent sessions, nothing fetched yet: one fetch ----
mock_ctl "role?name=RoleA&id=$ID_A&key=$KEY_A&token=$long_token&delay_ms=500" >/dev/null
conf iai.metadata_url "http://localhost:${mock_url##*:}"	# the same service, other settings: nothing cached
m0=$(meta requests)
for i in 1 2 3 4 5; do call p$((6 + i)) > "$work/c$i" & done
wait
okc=0
for i in 1 2 3 4 5; do grep -q '^00000000-0000-4000-8000-' "$work/c$i" && okc=$((okc + 1)); done
is "$okc" "5" "5 concurrent sessions succeed"
m5=$(( $(meta requests) - m0 ))
ok "[ $m5 -le 2 ]" "... with $m5 metadata requests (at most 2: role name and credentials)"

# ---- rotation: refreshed 5 s before ExpiredTime while 4 sessions keep calling ----
conf iai.credentials_refresh_margin 5 iai.cvm_role RoleA
b_expires=$(( $(date +%s) + 10 ))
mock_ctl "role?name=RoleA&id=$ID_B&key=$KEY_B&token=$TOK_B&expires_in=10&bind=0" >/dev/null
out=$(call p12)
like "$(last_request)" "Credential=$ID_B/" "first credentials B, expiring in 10 s"
mock_ctl "role?name=RoleA&id=$ID_C&key=$KEY_C&token=$TOK_C&expires_in=3600&bind=0" >/dev/null
m0=$(mock_ctl metadata | json "d['credentials']")
before=$(mock_ctl count)
for s in 1 2 3 4; do
	psql -X -q -At -d "$db" > "$work/rot$s" 2>&1 <<-SQL &
	SET iai.credentials = 'cvm_role';
	DO \$\$
	BEGIN
		FOR i IN 1..16 LOOP
			PERFORM iai_delete_person_from_group('p' || (100 + $s * 20 + i), 'RoleGroup');
			PERFORM pg_sleep(0.5);
		END LOOP;
		RAISE NOTICE 'all 16 calls succeeded';
	END
	\$\$;
	SQL
done
wait
okc=$(cat "$work"/rot* | grep -c 'all 16 calls succeeded' || true)
is "$okc" "4" "4 sessions x 16 calls across the rotation: no failed call"
is "$(( $(mock_ctl count) - before ))" "64" "... 64 requests, no retry"
is "$(( $(mock_ctl metadata | json "d['credentials']") - m0 ))" "1" "... one metadata fetch for the refresh"
first_c=$(log_json | json "min(r['t'] for r in d['requests'] if 'Credential=$ID_C/' in r['headers'].get('authorization',''))")
ok "awk 'BEGIN { exit !($first_c < $b_expires) }'" "the new credentials were in use before the old ones expired ($(awk "BEGIN { printf \"%.1f\", $b_expires - $first_c }") s before)"
ok "[ $(signed_with $ID_B OK) -gt 1 ]" "... and the old ones until the refresh ($(signed_with $ID_B OK) calls)"
is "$(log_json | json "sum(1 for r in d['requests'] if r['verdict'] != 'OK')")" "0" "no request was refused"

# ---- revoked at once: the refused call is retried once with fresh credentials ----
sleep 10	# credentials younger than 10 s are not fetched again
mock_ctl "role?name=RoleA&id=$ID_D&key=$KEY_D&token=$TOK_D&expires_in=3600&bind=0&revoke=$ID_C" >/dev/null
out=$(call p13)
like "$out" '^00000000-0000-4000-8000-' "credentials revoked before their time: the call succeeds"
like "$(log_json | json "' '.join(r['verdict'] for r in d['requests'][-2:])")" '^AuthFailure.SecretIdNotFound OK$' "... after one AuthFailure.SecretIdNotFound, renewed"
like "$(last_request)" "Credential=$ID_D/" "... with the new credentials"

# ---- TKE workload identity (OIDC) against the mock STS ----
tok_file=$work/web-identity-token
printf 'eyJhbGciOiJSUzI1NiJ9.mockWebIdentityToken.signature\n' > "$tok_file"
chmod 644 "$tok_file"
ID_O=AKIDmockOidc000000000000000000000000001 KEY_O=mockOidcSecretKey00000000000000001 TOK_O=mock-oidc-token-000001
ID_P=AKIDmockOidc000000000000000000000000002 KEY_P=mockOidcSecretKey00000000000000002 TOK_P=mock-oidc-token-000002
mock_ctl "sts?provider=mock-provider&role_arn=qcs::cam::uin/100000000001:roleName/iai-test&web_token=eyJhbGciOiJSUzI1NiJ9.mockWebIdentityToken.signature&id=$ID_O&key=$KEY_O&token=$TOK_O&expires_in=3600" >/dev/null
printf '%s\n' "TKE_REGION='ap-guangzhou'" "TKE_PROVIDER_ID='mock-provider'" \
	"TKE_WEB_IDENTITY_TOKEN_FILE='$tok_file'" \
	"TKE_ROLE_ARN='qcs::cam::uin/100000000001:roleName/iai-test'" > "$cluster_env"
conf iai.sts_endpoint "$mock_url" iai.metadata_url "http://127.0.0.1:9" iai.credentials_refresh_margin 300
restart_cluster >/dev/null
sts0=$(sts_count)
for i in 1 2 3 4 5; do call p$((13 + i)) oidc > "$work/o$i" & done
wait
okc=0
for i in 1 2 3 4 5; do grep -q '^00000000-0000-4000-8000-' "$work/o$i" && okc=$((okc + 1)); done
is "$okc" "5" "iai.credentials = oidc: 5 concurrent sessions succeed"
is "$(( $(sts_count) - sts0 ))" "1" "... with one AssumeRoleWithWebIdentity"
req=$(last_request)
like "$req" "Credential=$ID_O/" "... signed with the STS TmpSecretId"
like "$req" "\"x-tc-token\": \"$TOK_O\"" "... its Token sent as X-TC-Token"
sts=$(log_json | json "[r for r in d['requests'] if r['action'] == 'AssumeRoleWithWebIdentity'][-1]")
like "$sts" "'authorization': 'SKIP'" "the STS request is unsigned (Authorization: SKIP), as the SDKs send it"
like "$sts" "'x-tc-version': '2018-08-13'.*'x-tc-region': 'ap-guangzhou'|'x-tc-region': 'ap-guangzhou'.*'x-tc-version': '2018-08-13'" "... version 2018-08-13, region from TKE_REGION"
like "$sts" '"DurationSeconds": 7200' "... asking for 7200 s"
like "$sts" "'verdict': 'OK'" "... and the mock STS accepted it"

# auto: settings cleared, no environment keys or file, no metadata service: TKE
out=$(failure p19 auto "SET iai.secret_id = ''; SET iai.secret_key = '';")
like "$out" 'no error' "auto with no metadata service: TKE workload identity"
like "$(last_request)" "Credential=$ID_O/" "... signed with the STS TmpSecretId"

# rotation at STS, refreshed before expiry
conf iai.credentials_refresh_margin 5 iai.sts_endpoint "http://localhost:${mock_url##*:}"
p_expires=$(( $(date +%s) + 8 ))
mock_ctl "sts?provider=mock-provider&role_arn=qcs::cam::uin/100000000001:roleName/iai-test&web_token=eyJhbGciOiJSUzI1NiJ9.mockWebIdentityToken.signature&id=$ID_P&key=$KEY_P&token=$TOK_P&expires_in=8" >/dev/null
call p20 oidc >/dev/null
ID_Q=AKIDmockOidc000000000000000000000000003 KEY_Q=mockOidcSecretKey00000000000000003 TOK_Q=mock-oidc-token-000003
mock_ctl "sts?provider=mock-provider&role_arn=qcs::cam::uin/100000000001:roleName/iai-test&web_token=eyJhbGciOiJSUzI1NiJ9.mockWebIdentityToken.signature&id=$ID_Q&key=$KEY_Q&token=$TOK_Q&expires_in=3600" >/dev/null
sts0=$(sts_count)
for s in 1 2 3; do
	psql -X -q -At -d "$db" > "$work/orot$s" 2>&1 <<-SQL &
	SET iai.credentials = 'oidc';
	DO \$\$
	BEGIN
		FOR i IN 1..12 LOOP
			PERFORM iai_delete_person_from_group('p' || (30 + $s * 15 + i), 'RoleGroup');
			PERFORM pg_sleep(0.5);
		END LOOP;
		RAISE NOTICE 'all 12 calls succeeded';
	END
	\$\$;
	SQL
done
wait
is "$(cat "$work"/orot* | grep -c 'all 12 calls succeeded' || true)" "3" "OIDC: 3 sessions x 12 calls across the rotation: no failed call"
is "$(( $(sts_count) - sts0 ))" "1" "... one AssumeRoleWithWebIdentity for the refresh"
first_q=$(log_json | json "min(r['t'] for r in d['requests'] if 'Credential=$ID_Q/' in r['headers'].get('authorization',''))")
ok "awk 'BEGIN { exit !($first_q < $p_expires) }'" "... the new credentials in use before the old ones expired"

# STS refuses: its code, message and RequestId; then an unusable answer
conf iai.sts_endpoint "$mock_url"
restart_cluster >/dev/null	# nothing cached, nothing remembered
mock_ctl "sts?error=InvalidParameter.WebIdentityTokenError" >/dev/null
out=$(failure p21 oidc)
like "$out" '28000 \| could not assume the role with the TKE web identity: InvalidParameter.WebIdentityTokenError: refused as configured \| RequestId: 00000000-0000-4000-8000-' "STS refuses: 28000 with its code and RequestId"
unlike "$out" 'mockWebIdentityToken' "... never the web identity token"
restart_cluster >/dev/null
mock_ctl "sts?key=mockOidcSecretKeyMalformed000000009&answer=malformed" >/dev/null
out=$(failure p21 oidc)
like "$out" '08P01 \| the answer of STS to AssumeRoleWithWebIdentity is not a JSON object' "STS answers what is not JSON: 08P01"
unlike "$out" 'mockOidcSecretKeyMalformed' "... not quoted"

done_testing
