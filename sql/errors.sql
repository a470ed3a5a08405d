--
-- API errors become SQL errors: the message starts with the API's code, the
-- DETAIL names the RequestId, the SQLSTATE follows the documented mapping.
-- Transport failures have their own messages and SQLSTATE class 08.
-- Retries are off here, so each failure shows as it happened (see retry.sql).
--
SET iai.max_retries = 0;
\x on
SELECT mock.reset();
SELECT mock.ctl('group?id=TencentShenZhenEmployee&persons=1001');
SELECT mock.ctl('group?id=ZhuYuanDormitoryNo1&persons=3002');
SELECT mock.ctl('group?id=ZhuYuanDormitoryNo2&persons=3001');

-- The documented error example, from the mock's real state.
SELECT * FROM mock.try($$SELECT iai_delete_person_from_group('3001', 'ZhuYuanDormitoryNo1')$$);
-- ... with English messages.
SET iai.language = 'en-US';
SELECT * FROM mock.try($$SELECT iai_delete_person_from_group('3001', 'ZhuYuanDormitoryNo1')$$);
SELECT * FROM mock.try($$SELECT iai_delete_person_from_group('9999', 'ZhuYuanDormitoryNo1')$$);
SELECT * FROM mock.try($$SELECT iai_delete_person_from_group('3001', 'NoSuchGroup')$$);
RESET iai.language;

-- The RequestId in DETAIL is the one the service (mock) issued.
SELECT r.request_id, r.verdict
FROM mock.requests() r ORDER BY seq DESC LIMIT 1;

-- PL/pgSQL can catch "already gone" by condition name.
DO $$
BEGIN
    PERFORM iai_delete_person_from_group('3001', 'ZhuYuanDormitoryNo1');
EXCEPTION WHEN no_data_found THEN
    RAISE NOTICE 'already gone: %', SQLERRM;
END
$$;
\x off

-- One code of every family, injected by the mock: SQLSTATE and shape.
CREATE FUNCTION pg_temp.api_error(code text,
    OUT state text, OUT starts_with_code bool, OUT detail_has_request_id bool,
    OUT hint text)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    last_id text;
BEGIN
    PERFORM mock.fault('error', '&code=' || code);
    SELECT * INTO r FROM mock.try($q$SELECT iai_delete_person_from_group('1001', 'TencentShenZhenEmployee')$q$);
    SELECT request_id INTO last_id FROM mock.requests() ORDER BY seq DESC LIMIT 1;
    state := r.state;
    starts_with_code := r.message LIKE code || ': %';
    detail_has_request_id := r.detail LIKE 'RequestId: ' || last_id || '. %';
    hint := r.hint;
END
$$;

SELECT code, e.*
FROM unnest(ARRAY[
    'FailedOperation.GroupPersonMapNotExist',
    'InvalidParameterValue.PersonIdNotExist',
    'InvalidParameterValue.GroupIdNotExist',
    'AuthFailure.SignatureFailure',
    'AuthFailure.SignatureExpire',
    'AuthFailure.SecretIdNotFound',
    'AuthFailure.InvalidSecretId',
    'AuthFailure.TokenFailure',
    'AuthFailure.MFAFailure',
    'AuthFailure.UnauthorizedOperation',
    'UnauthorizedOperation',
    'RequestLimitExceeded',
    'RequestLimitExceeded.IPLimitExceeded',
    'InternalError',
    'ServiceUnavailable',
    'FailedOperation.ServerError',
    'FailedOperation.RequestTimeout',
    'FailedOperation.ConflictOperation',
    'FailedOperation.GroupInDeletedState',
    'MissingParameter',
    'InvalidParameter.InvalidParameter',
    'InvalidParameterValue.PersonIdIllegal',
    'UnknownParameter',
    'InvalidAction',
    'NoSuchVersion',
    'UnsupportedRegion',
    'UnsupportedOperation.UnknowMethod',
    'LimitExceeded.ErrorFaceNumExceed',
    'RequestSizeLimitExceeded',
    'ResourceUnavailable.InArrears',
    'ResourcesSoldOut.ChargeStatusException',
    'ResourceNotFound',
    'SomethingNew.NeverSeenBefore'
]) WITH ORDINALITY AS c(code, n),
LATERAL pg_temp.api_error(c.code) e
ORDER BY n;

-- Nothing here was retried: one request per call.
SELECT count(*) AS requests, count(DISTINCT request_id) AS distinct_ids FROM mock.requests();

\x on
-- Credentials the service rejects, for real (the mock verifies them).
SET iai.secret_id = 'AKIDmockPermanentKey000000000000000001';
SET iai.secret_key = 'mockPermanentSecretKey0000000000X';
SELECT * FROM mock.try($$SELECT iai_delete_person_from_group('1001', 'TencentShenZhenEmployee')$$);
SET iai.secret_id = 'AKIDmockNoSuchKey00000000000000000000';
SET iai.secret_key = 'mockPermanentSecretKey00000000001';
SELECT * FROM mock.try($$SELECT iai_delete_person_from_group('1001', 'TencentShenZhenEmployee')$$);
RESET iai.secret_id;
RESET iai.secret_key;
-- an STS key without its token
SET iai.secret_id = 'AKIDmockTemporaryKey000000000000000002';
SET iai.secret_key = 'mockTemporarySecretKey00000000002';
SELECT * FROM mock.try($$SELECT iai_delete_person_from_group('1001', 'TencentShenZhenEmployee')$$);
RESET iai.secret_id;
RESET iai.secret_key;
-- a SecretKey too long to sign with: refused before sending
SET iai.secret_id = 'AKIDmockPermanentKey000000000000000001';
SELECT set_config('iai.secret_key', repeat('k', 1025), false) IS NOT NULL AS set;
SELECT * FROM mock.try($$SELECT iai_delete_person_from_group('1001', 'TencentShenZhenEmployee')$$);
RESET iai.secret_id;
RESET iai.secret_key;
-- a clock 7 minutes off
SELECT mock.ctl('config?clock_skew=420');
SELECT * FROM mock.try($$SELECT iai_delete_person_from_group('1001', 'TencentShenZhenEmployee')$$);
SELECT mock.ctl('config?clock_skew=0');

-- A request altered in transit fails the service's signature check, and
-- nothing is deleted.
SELECT mock.fault('tamper_body');
SELECT * FROM mock.try($$SELECT iai_delete_person_from_group('1001', 'TencentShenZhenEmployee')$$);
SELECT mock.fault('tamper_content_type');
SELECT state, message FROM mock.try($$SELECT iai_delete_person_from_group('1001', 'TencentShenZhenEmployee')$$);
SELECT mock.fault('tamper_host');
SELECT state, message FROM mock.try($$SELECT iai_delete_person_from_group('1001', 'TencentShenZhenEmployee')$$);
SELECT mock.state() -> 'TencentShenZhenEmployee' AS still_in_group;

-- Missing credentials name what to set.  (With nothing preloaded, the
-- test cluster keeps its credentials in the server's environment, where
-- they are found instead: see errors_1.out.)
SET iai.secret_id = '';
SET iai.secret_key = '';
SELECT * FROM mock.try($$SELECT iai_delete_person_from_group('1001', 'TencentShenZhenEmployee')$$);
RESET iai.secret_key;
SELECT * FROM mock.try($$SELECT iai_delete_person_from_group('1001', 'TencentShenZhenEmployee')$$);
RESET iai.secret_id;
\x off

-- Transport failures: never XX000, never a bare curl message.
CREATE FUNCTION pg_temp.transport(kind text, args text DEFAULT '',
    OUT state text, OUT message text, OUT hint text)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF kind IS NOT NULL THEN
        PERFORM mock.fault(kind, args);
    END IF;
    SELECT * INTO r FROM mock.try($q$SELECT iai_delete_person_from_group('1001', 'TencentShenZhenEmployee')$q$);
    state := r.state;
    -- curl reports elapsed times and byte counts; they vary from run to run
    message := regexp_replace(r.message, '[0-9]+ (ms|milliseconds|out of [0-9]+ bytes)', 'N \1', 'g');
    hint := r.hint;
END
$$;

SET iai.timeout_ms = '500ms';
SELECT kind, t.*
FROM (VALUES ('status', '&status=503'), ('status', '&status=404'),
             ('malformed', ''), ('empty', ''), ('no_request_id', ''),
             ('drop', '&count=2'), ('oversized', '&size=2097152'),
             ('hang', ''), ('trickle', '&ms=200')) AS f(kind, args),
     LATERAL pg_temp.transport(f.kind, f.args) t;
RESET iai.timeout_ms;

SET iai.endpoint = 'http://127.0.0.1:1/';
SELECT * FROM pg_temp.transport(NULL);
RESET iai.endpoint;

-- After all of that the same backend still works.  (The trickled answer was
-- a success, so that request took effect: put the person back first.)
SELECT mock.state();
SELECT mock.ctl('group?id=TencentShenZhenEmployee&persons=1001');
SELECT iai_delete_person_from_group('1001', 'TencentShenZhenEmployee');
