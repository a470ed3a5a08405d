--
-- Who may call, and who may see or change the credentials and endpoint.
--
SELECT mock.reset();
SELECT mock.ctl('group?id=TencentShenZhenEmployee&persons=1001,1002,1003');

CREATE ROLE iai_app LOGIN;
CREATE ROLE iai_reader LOGIN;
CREATE TABLE hr_people (employee_id text PRIMARY KEY);
INSERT INTO hr_people VALUES ('1001'), ('1002');
CREATE TRIGGER hr_people_iai AFTER DELETE ON hr_people FOR EACH ROW
    EXECUTE FUNCTION iai_delete_person_trigger('employee_id', 'TencentShenZhenEmployee');
GRANT SELECT, DELETE ON hr_people TO iai_reader;

-- (with nothing preloaded, the iai.* settings exist once a session loads iai)
LOAD 'iai';
SET ROLE iai_app;
-- No EXECUTE for PUBLIC.
SELECT iai_delete_person_from_group('1003', 'TencentShenZhenEmployee');
SELECT iai_call('GetPersonGroupInfo', '{"PersonId": "1003"}');

-- Secrets are invisible to ordinary roles, in every way of asking.
SHOW iai.secret_key;
SHOW iai.session_token;
SHOW iai.secret_id;
SELECT current_setting('iai.secret_key');
SELECT name FROM pg_settings WHERE name LIKE 'iai.%' ORDER BY 1;
RESET ROLE;
CREATE FUNCTION mock.show_all_iai() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    FOR r IN EXECUTE 'SHOW ALL' LOOP
        IF r.name LIKE 'iai.%' THEN RETURN NEXT r.name; END IF;
    END LOOP;
END $$;
GRANT USAGE ON SCHEMA mock TO iai_app;
SET ROLE iai_app;
SELECT * FROM mock.show_all_iai();

-- Nor can they change where calls go, which CA is trusted, or the keys.
SET iai.endpoint = 'http://127.0.0.1:9/';
SET iai.ca_file = '/tmp/evil.pem';
SET iai.proxy = 'http://127.0.0.1:9';
SET iai.secret_id = 'AKIDmine';
SET iai.secret_key = 'mine';
SET iai.session_token = 'mine';
SELECT set_config('iai.endpoint', 'http://127.0.0.1:9/', false);
-- Per-call knobs are theirs to set.
SET iai.timeout_ms = '2s';
SET iai.connect_timeout_ms = 1500;
SET iai.language = 'en-US';
SET iai.region = 'ap-shanghai';
SHOW iai.timeout_ms;
RESET ROLE;

-- The GRANT the README shows.
GRANT EXECUTE ON FUNCTION iai_delete_person_from_group(text, text) TO iai_app;
SET ROLE iai_app;
SELECT iai_delete_person_from_group('1003', 'TencentShenZhenEmployee') IS NOT NULL AS called;
SELECT iai_call('GetPersonGroupInfo', '{"PersonId": "1003"}');
RESET ROLE;

-- A trigger fires with the table owner's setup: a role that may only DELETE
-- from the table needs no EXECUTE on the function.
SET ROLE iai_reader;
DELETE FROM hr_people WHERE employee_id = '1001';
RESET ROLE;
SELECT verdict, person FROM mock.requests() ORDER BY seq DESC LIMIT 1;

-- Values refused by a check hook are not echoed back (nor logged).
SET iai.secret_key = ' mockPermanentSecretKey00000000001';
SET iai.secret_id = E'AKID\nX-Injected: 1';
SET iai.session_token = E'tok\r\n';
SET iai.region = 'AP Guangzhou';
SET iai.language = 'fr-FR';

-- Superusers see the settings as usual.
SELECT name, context FROM pg_settings WHERE name LIKE 'iai.%' ORDER BY 1;
SELECT current_setting('iai.secret_id') IS NOT NULL AS superuser_reads_secret_id;

REVOKE EXECUTE ON FUNCTION iai_delete_person_from_group(text, text) FROM iai_app;
DROP TABLE hr_people;
DROP FUNCTION mock.show_all_iai();
REVOKE USAGE ON SCHEMA mock FROM iai_app;
DROP ROLE iai_app;
DROP ROLE iai_reader;
