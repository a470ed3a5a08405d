--
-- Settings that decide where calls go and with which credentials.
--
-- An invalid iai.endpoint, iai.ca_file or iai.proxy is refused where it is
-- typed (SET, ALTER SYSTEM, ALTER ROLE SET); one that arrives where nobody
-- would hear of a refusal (a session's stored settings, the configuration
-- files: see test/t/refused.sh) is kept, and calls fail naming it.  The
-- credentials cannot be stored with ALTER ROLE/DATABASE SET or a function's
-- SET clause, whose catalogs every role can read.
--
SELECT mock.reset();
SELECT mock.ctl('group?id=SettingsGroup&persons=s1,s2,s3,s4');
\set VERBOSITY default
\set SHOW_CONTEXT never

-- (load the library: with nothing preloaded, SET of an unknown iai.*
-- setting would only make a placeholder)
SELECT iai_delete_person_from_group('s1', 'SettingsGroup') IS NOT NULL AS removed;

-- Refused at once where typed; calls still go where they went.
SET iai.endpoint = 'https://127.0.0.1:8443/v1';
SET iai.endpoint = 'https://user:hunter2@127.0.0.1:58443';
SET iai.endpoint = 'ftp://user:hunter2@127.0.0.1:58443';
SET iai.endpoint = 'user:hunter2@127.0.0.1:58443';
SET iai.endpoint = '';
SET iai.ca_file = E'/tmp/ca\n.pem';
ALTER SYSTEM SET iai.endpoint = 'https://127.0.0.1:8443/v1';
SELECT count(*) AS stored FROM pg_file_settings WHERE name = 'iai.endpoint' AND sourcefile LIKE '%auto.conf';
SELECT iai_delete_person_from_group('s2', 'SettingsGroup') IS NOT NULL AS removed;

-- iai.proxy: "", "environment", or an http:// or socks5h:// URL with a port.
SHOW iai.proxy;
SET iai.proxy = 'environment';
SET iai.proxy = 'http://proxy.example.com:3128';
SET iai.proxy = 'socks5h://127.0.0.1:1080/';
SET iai.proxy = '';
SET iai.proxy = 'proxy.example.com:3128';
SET iai.proxy = 'https://proxy.example.com:3128';
SET iai.proxy = 'http://proxy.example.com';
SET iai.proxy = 'http://proxy.example.com:3128/path';
SET iai.proxy = 'http://alice:s3cret@proxy.example.com:3128';
SET iai.proxy = 'ftp://alice:s3cret@proxy.example.com:3128';
SET iai.proxy = 'socks4://127.0.0.1:1080';
RESET iai.proxy;

-- Credentials: not in ALTER ROLE / ALTER DATABASE / a function's SET
-- clause; ALTER SYSTEM and a superuser's SET still take them.
CREATE ROLE iai_settings_role;
ALTER ROLE iai_settings_role SET iai.secret_key = 'StoredInCatalog000001';
ALTER ROLE iai_settings_role IN DATABASE contrib_regression SET iai.secret_id = 'AKIDStoredInCatalog01';
ALTER DATABASE contrib_regression SET iai.session_token = 'StoredInCatalog000002';
ALTER ROLE ALL SET iai.secret_key = 'StoredInCatalog000003';
CREATE FUNCTION pg_temp.with_secret() RETURNS int LANGUAGE sql
    SET iai.secret_key = 'StoredInCatalog000004' AS 'SELECT 1';
SELECT count(*) AS stored FROM pg_db_role_setting WHERE array_to_string(setconfig, ',') LIKE '%iai.%';
-- Other settings may be stored there, as before.
ALTER ROLE iai_settings_role SET iai.timeout_ms = '3s';
ALTER ROLE iai_settings_role RESET iai.timeout_ms;
BEGIN;
SET LOCAL iai.secret_key = 'SetBySuperuser0000001';
SELECT current_setting('iai.secret_key') = 'SetBySuperuser0000001' AS superuser_set_works;
ROLLBACK;
ALTER SYSTEM SET iai.session_token = 'AlterSystemToken000001';
SELECT count(*) AS stored FROM pg_file_settings WHERE name = 'iai.session_token' AND sourcefile LIKE '%auto.conf';
ALTER SYSTEM RESET iai.session_token;

-- Values of these settings stored in a role's settings while the library
-- was not loaded to refuse them (with nothing preloaded: a session that
-- has not loaded it yet; preloaded, they are refused as above).  A session
-- applying them fails its calls, naming the setting; nothing is sent.
SELECT current_user AS su \gset
CREATE ROLE iai_settings_caller LOGIN PASSWORD 'iai_settings_pw';
GRANT EXECUTE ON FUNCTION iai_delete_person_from_group(text, text) TO iai_settings_caller;
\c
ALTER ROLE iai_settings_caller SET iai.secret_key = 'StoredInCatalog000005';
SELECT mock.count() AS before \gset
\c "dbname=contrib_regression user=iai_settings_caller password=iai_settings_pw"
SELECT iai_delete_person_from_group('s3', 'SettingsGroup') IS NOT NULL AS removed;
\c contrib_regression :su
ALTER ROLE iai_settings_caller RESET ALL;
\c
ALTER ROLE iai_settings_caller SET iai.endpoint = 'https://127.0.0.1:8443/v1';
\c "dbname=contrib_regression user=iai_settings_caller password=iai_settings_pw"
SELECT iai_delete_person_from_group('s4', 'SettingsGroup') IS NOT NULL AS removed;
\c contrib_regression :su
ALTER ROLE iai_settings_caller RESET ALL;
SELECT mock.count() - :before AS sent;

DROP OWNED BY iai_settings_caller;
DROP ROLE iai_settings_caller;
DROP ROLE iai_settings_role;
