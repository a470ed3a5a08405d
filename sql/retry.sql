--
-- Retries: transient failures are retried with backoff, each attempt signed
-- afresh; an "already gone" answer after an attempt that may have taken
-- effect counts as success; a whole call is bounded by iai.total_timeout_ms.
--
SELECT mock.reset();
SELECT mock.ctl('group?id=G&persons=p1,p2,p3,p4,p5,p6,p7,p8,p9');
-- (with nothing preloaded, the iai.* settings exist once a session loads iai)
LOAD 'iai';
SHOW iai.max_retries;

-- Queue the faults, make one call, and report it with what the mock saw.
CREATE FUNCTION pg_temp.scenario(faults text[], person text,
    OUT result text, OUT seen text)
LANGUAGE plpgsql AS $$
DECLARE
    before int := coalesce((SELECT max(seq) FROM mock.requests()), 0);
    f text;
    r record;
BEGIN
    FOREACH f IN ARRAY faults LOOP
        PERFORM mock.ctl('fault?' || f);
    END LOOP;
    SELECT * INTO r FROM mock.try(format('SELECT iai_delete_person_from_group(%L, %L)', person, 'G'));
    result := CASE WHEN r.state = '00000' THEN 'ok'
                   ELSE r.state || ' ' || split_part(r.message, ':', 1) || ', '
                        || substring(r.detail from 'attempts: [0-9]+') END;
    SELECT string_agg(coalesce(q.fault || ' -> ', '') || q.verdict, ', ' ORDER BY q.seq)
      INTO seen FROM mock.requests() q WHERE q.seq > before;
END
$$;

-- Transient failures, retried until they pass.
SELECT * FROM pg_temp.scenario('{kind=status&status=503}', 'p1');
SELECT * FROM pg_temp.scenario('{kind=throttle}', 'p2');
SELECT * FROM pg_temp.scenario('{kind=error&code=InternalError&count=2}', 'p3');
-- ... or until iai.max_retries is spent.
SELECT * FROM pg_temp.scenario('{kind=error&code=ServiceUnavailable&count=3}', 'p4');
-- Codes that another attempt cannot fix are never retried.
SELECT * FROM pg_temp.scenario('{kind=error&code=RequestLimitExceeded.IPLimitExceeded}', 'p4');
SELECT * FROM pg_temp.scenario('{kind=error&code=AuthFailure.SignatureFailure}', 'p4');
SELECT * FROM pg_temp.scenario('{kind=malformed}', 'p4');
SELECT * FROM pg_temp.scenario('{}', 'not-in-group');
SET iai.max_retries = 0;
SELECT * FROM pg_temp.scenario('{kind=error&code=InternalError}', 'p4');
RESET iai.max_retries;

-- The throttled attempt and its retry (at least a second later) carry
-- different timestamps and signatures: every attempt is signed afresh.
SELECT count(DISTINCT headers ->> 'x-tc-timestamp') AS timestamps,
       count(DISTINCT headers ->> 'authorization') AS signatures
FROM mock.requests() WHERE person = 'p2';

-- A dead reused connection: libcurl resends on a fresh one by itself...
SELECT * FROM pg_temp.scenario('{kind=drop}', 'p4');
-- ... and when that fails too, the call is retried.
SELECT * FROM pg_temp.scenario('{kind=drop&count=2}', 'p5');

-- Ambiguous failures: the first attempt took effect but its answer was
-- lost, so "not in the group" on the next attempt means done.
SELECT * FROM pg_temp.scenario('{kind=drop_after}', 'p6');
SET iai.timeout_ms = 300;
SELECT * FROM pg_temp.scenario('{kind=trickle&ms=200}', 'p7');
RESET iai.timeout_ms;
SELECT mock.state();

-- iai_call() returns exactly what the service answered: after the same lost
-- answer it reports "already gone" instead of assuming the first attempt.
SELECT mock.ctl('group?id=G&persons=pc1');
SELECT mock.fault('drop_after');
SELECT state, split_part(message, ':', 1) AS code, substring(detail FROM 'attempts: [0-9]+') AS attempts
FROM mock.try($$SELECT iai_call('DeletePersonFromGroup', '{"PersonId": "pc1", "GroupId": "G"}')$$);

-- A whole call never outlives iai.total_timeout_ms, retries included.
SET iai.timeout_ms = 400;
SET iai.max_retries = 5;
SET iai.total_timeout_ms = 1000;
SELECT now() AS t0 \gset
SELECT * FROM pg_temp.scenario('{kind=hang&count=2}', 'p8');
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1.5 s' AS within_deadline;
RESET iai.timeout_ms;
RESET iai.max_retries;
RESET iai.total_timeout_ms;

-- Connection failures are retried too.
SET iai.endpoint = 'http://127.0.0.1:1/';
SELECT state, substring(detail from 'attempts: [0-9]+') AS attempts
FROM mock.try($$SELECT iai_delete_person_from_group('p9', 'G')$$);
RESET iai.endpoint;

-- One connection serves a run of calls (keep-alive), re-signed each time.
SELECT mock.reset();
SELECT mock.ctl('group?id=G&persons=k1,k2,k3,k4,k5,k6,k7,k8,k9,k10');
SELECT count(iai_delete_person_from_group('k' || i, 'G')) FROM generate_series(1, 10) i;
SELECT count(*) AS calls, count(DISTINCT conn) AS connections,
       count(DISTINCT headers ->> 'authorization') AS signatures
FROM jsonb_to_recordset(mock.ctl('log') -> 'requests') AS r(conn text, headers jsonb);
