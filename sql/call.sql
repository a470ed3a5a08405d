--
-- Signed calls that succeed, and what went over the wire.
--
SELECT mock.reset();
SELECT mock.ctl('group?id=TencentShenZhenEmployee&persons=1001,1002,1003');

-- The documented example: returns the RequestId.
SELECT iai_delete_person_from_group('1001', 'TencentShenZhenEmployee');
SELECT mock.state();

-- The mock verified the signature independently and accepted it.
SELECT seq, action, verdict, person, grp, request_id FROM mock.requests();

-- The headers as received: Host and Content-Type exactly as signed, no
-- optional X-TC-* header that was not configured.
SELECT key,
       regexp_replace(regexp_replace(value,
           '/[0-9]{4}-[0-9]{2}-[0-9]{2}/', '/<date>/'),
           '(Signature=)[0-9a-f]{64}$', '\1<64 hex digits>') AS value
FROM mock.requests() r, jsonb_each_text(r.headers)
WHERE r.seq = 1 AND key NOT IN ('x-tc-timestamp')
ORDER BY key;

-- The timestamp is now, and the credential scope is its UTC date.
SELECT abs((headers ->> 'x-tc-timestamp')::bigint
           - extract(epoch FROM now())::bigint) < 60 AS timestamp_is_now,
       substring(headers ->> 'authorization' FROM 'Credential=[^/]+/([0-9-]+)/')
         = to_char(to_timestamp((headers ->> 'x-tc-timestamp')::bigint) AT TIME ZONE 'UTC',
                   'YYYY-MM-DD') AS scope_is_utc_date
FROM mock.requests() WHERE seq = 1;

-- The body is jsonb's own rendering of the parameters.
SELECT body FROM mock.requests() WHERE seq = 1;

-- The generic entry point returns the whole Response object.
SELECT iai_call('CreateGroup', '{"GroupId": "Dormitory2", "GroupName": "Dormitory 2"}');
SELECT iai_call('CreatePerson', '{"GroupId": "Dormitory2", "PersonId": "1002", "PersonName": "张三"}') ->> 'FaceId';
SELECT iai_call('GetPersonGroupInfo', '{"PersonId": "1002"}');
SELECT iai_call('DeletePersonFromGroup', jsonb_build_object('PersonId', '1002', 'GroupId', 'Dormitory2'));
SELECT iai_call('GetPersonGroupInfo', jsonb_build_object('PersonId', '1002')) -> 'PersonGroupInfos';
SELECT body FROM mock.requests() WHERE action = 'CreatePerson';

-- Region and language go out only when configured.
SET iai.region = 'ap-guangzhou';
SET iai.language = 'EN-us';
SHOW iai.language;
SELECT iai_delete_person_from_group('1002', 'TencentShenZhenEmployee');
SELECT headers ->> 'x-tc-region' AS region, headers ->> 'x-tc-language' AS language,
       headers ? 'x-tc-token' AS token_sent
FROM mock.requests() ORDER BY seq DESC LIMIT 1;
RESET iai.region;
RESET iai.language;

-- Temporary credentials: the token goes out as X-TC-Token.
SET iai.secret_id = 'AKIDmockTemporaryKey000000000000000002';
SET iai.secret_key = 'mockTemporarySecretKey00000000002';
SET iai.session_token = 'mock-session-token-0002';
SELECT iai_delete_person_from_group('1003', 'TencentShenZhenEmployee');
SELECT verdict, headers ->> 'x-tc-token' AS token
FROM mock.requests() ORDER BY seq DESC LIMIT 1;
RESET iai.secret_id;
RESET iai.secret_key;
RESET iai.session_token;

-- An upper-case scheme and a trailing slash change nothing.
SELECT mock.ctl('group?id=Dormitory2&persons=1002');
SET iai.endpoint = 'HTTP://127.0.0.1:58080/';
SELECT iai_call('GetPersonGroupInfo', '{"PersonId": "1002"}') -> 'GroupNum';
SELECT headers ->> 'host' AS host, verdict FROM mock.requests() ORDER BY seq DESC LIMIT 1;
RESET iai.endpoint;

-- Endpoints that cannot be a base URL are refused when set.
SET iai.endpoint = 'ftp://127.0.0.1/';
SET iai.endpoint = 'http://127.0.0.1:58080/v2';
SET iai.endpoint = 'http://user:pw@127.0.0.1:58080/';
SET iai.endpoint = 'http://127.0.0.1:58080/?x=1';
SET iai.endpoint = '127.0.0.1:58080';
SET iai.endpoint = '';
SHOW iai.endpoint;

SELECT mock.state();
