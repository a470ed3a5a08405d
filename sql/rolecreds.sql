--
-- Temporary credentials from the CVM instance role, served by the mock's
-- metadata service: signed with the role's SecretId, its token sent, cached
-- (in shared memory when preloaded, per backend otherwise), and each
-- failure of the source an error naming it.  test/t/rolecreds.sh covers
-- concurrency, refresh and TKE workload identity.
--
LOAD 'iai';	-- with nothing preloaded, so that ALTER SYSTEM knows its settings
SELECT mock.reset();
SELECT mock.ctl('group?id=RoleRegress&persons=g1,g2,g3');
SELECT mock.ctl('role?name=RegressRole&id=AKIDmockRegressRole00000000000000000005'
                '&key=mockRegressRoleSecretKey0000000005&token=mock-regress-role-token-05');
SELECT current_setting('iai_test.mock_url') AS mock_url \gset
ALTER SYSTEM SET iai.metadata_url = :'mock_url';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);

SET iai.credentials = 'cvm_role';
SELECT iai_delete_person_from_group('g1', 'RoleRegress') IS NOT NULL AS removed;
SELECT iai_delete_person_from_group('g2', 'RoleRegress') IS NOT NULL AS removed;
SELECT verdict, headers ->> 'x-tc-token' AS token,
       substring(headers ->> 'authorization' FROM 'Credential=([^/]*)/') AS secret_id
FROM mock.requests();
-- one role-name lookup and one fetch for both calls
SELECT mock.ctl('metadata') - 'paths' AS metadata;
SELECT regexp_replace(value, 'expiring at .*, refreshed', 'expiring at ..., refreshed') AS credentials
FROM iai_debug_request('DeletePersonFromGroup', '{"PersonId": "g3", "GroupId": "RoleRegress"}')
WHERE item = 'credentials';

-- Failures, each under settings of its own (nothing cached or remembered).
ALTER SYSTEM SET iai.cvm_role = 'NoSuchRole';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT state, message, detail FROM mock.try($$SELECT iai_delete_person_from_group('g3', 'RoleRegress')$$);
SELECT mock.ctl('role?unbind=1');
ALTER SYSTEM SET iai.cvm_role = '';
ALTER SYSTEM SET iai.metadata_url = 'http://localhost:58080';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT state, message, detail FROM mock.try($$SELECT iai_delete_person_from_group('g3', 'RoleRegress')$$);
ALTER SYSTEM SET iai.metadata_url = 'http://127.0.0.1:9';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
-- (DETAIL has libcurl's words, which change between its versions)
SELECT state, message FROM mock.try($$SELECT iai_delete_person_from_group('g3', 'RoleRegress')$$);
SELECT count(*) AS api_requests FROM mock.requests();

-- Settings are checked when set.
SET iai.credentials = 'somewhere';
ALTER SYSTEM SET iai.metadata_url = 'http://169.254.0.23/path';
ALTER SYSTEM SET iai.sts_endpoint = 'ftp://sts.tencentcloudapi.com';
ALTER SYSTEM SET iai.cvm_role = 'role with spaces';

RESET iai.credentials;
ALTER SYSTEM RESET iai.metadata_url;
ALTER SYSTEM RESET iai.cvm_role;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
