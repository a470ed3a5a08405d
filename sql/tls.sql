--
-- HTTPS: certificates and host names are always verified.
--
SELECT mock.reset();
SELECT mock.ctl('group?id=TencentShenZhenEmployee&persons=1001,1002');

CREATE FUNCTION pg_temp.use_ca(on_ bool) RETURNS void
LANGUAGE sql AS $$
    SELECT set_config('iai.ca_file',
        CASE WHEN on_ THEN current_setting('iai_test.mock_dir') || '/ca.pem' ELSE '' END,
        false)
$$;

-- The mock's CA is not trusted by the system: refused.
SET iai.endpoint = 'https://127.0.0.1:58443';
SELECT state, message, hint
FROM mock.try($$SELECT iai_delete_person_from_group('1001', 'TencentShenZhenEmployee')$$);

-- With iai.ca_file naming it: accepted, and verified end to end.
SELECT pg_temp.use_ca(true);
SELECT iai_delete_person_from_group('1001', 'TencentShenZhenEmployee');
SELECT headers ->> 'host' AS host, verdict FROM mock.requests();

-- A certificate for another host name is refused even from a trusted CA.
SET iai.endpoint = 'https://127.0.0.1:58444';
SELECT state, message
FROM mock.try($$SELECT iai_delete_person_from_group('1002', 'TencentShenZhenEmployee')$$);

-- A CA file that cannot be read is an error, not a fallback.
SET iai.endpoint = 'https://127.0.0.1:58443';
SET iai.ca_file = '/nonexistent/ca.pem';
SELECT state, message
FROM mock.try($$SELECT iai_delete_person_from_group('1002', 'TencentShenZhenEmployee')$$);

-- Going back to a good CA works again on the same backend.
SELECT pg_temp.use_ca(true);
SELECT iai_delete_person_from_group('1002', 'TencentShenZhenEmployee') IS NOT NULL AS removed;
SELECT count(*) AS requests_received FROM mock.requests();
