--
-- Test scaffolding.  pg_regress created the extension (--load-extension=iai);
-- the cluster's postgresql.conf points iai.endpoint at the mock endpoint
-- (test/mock_iai.py) and holds the mock's credentials.
--
SELECT extname, extversion FROM pg_extension WHERE extname = 'iai';

-- Every function is VOLATILE, PARALLEL UNSAFE and not executable by PUBLIC.
SELECT p.proname, p.provolatile, p.proparallel, p.proacl
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'iai'
ORDER BY 1;

-- Helpers driving the mock's control interface over plain HTTP, with curl.
CREATE SCHEMA mock;

CREATE TABLE mock.answer (line text);

CREATE FUNCTION mock.ctl(path text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    answer jsonb;
BEGIN
    TRUNCATE mock.answer;
    EXECUTE format('COPY mock.answer FROM PROGRAM %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')',
                   format('curl -sS --max-time 30 ''%s/_mock/%s''',
                          current_setting('iai_test.mock_url'), path));
    SELECT string_agg(line, E'\n')::jsonb INTO answer FROM mock.answer;
    RETURN answer;
END
$$;

CREATE FUNCTION mock.reset() RETURNS void
LANGUAGE sql AS $$ SELECT mock.ctl('reset') $$;

CREATE FUNCTION mock.fault(kind text, args text DEFAULT '') RETURNS void
LANGUAGE sql AS $$ SELECT mock.ctl('fault?kind=' || kind || args) $$;

CREATE FUNCTION mock.state() RETURNS jsonb
LANGUAGE sql AS $$ SELECT mock.ctl('state') -> 'groups' $$;

-- What the mock received, oldest first.
CREATE FUNCTION mock.requests()
RETURNS TABLE (seq int, action text, verdict text, person text, grp text,
               request_id text, fault text, headers jsonb, body text)
LANGUAGE sql AS $$
    SELECT r.seq, r.action, r.verdict, r.person, r."group", r.request_id,
           r.fault, r.headers, r.body
    FROM jsonb_to_recordset(mock.ctl('log') -> 'requests')
         AS r(seq int, action text, verdict text, person text, "group" text,
              request_id text, fault text, headers jsonb, body text)
    ORDER BY r.seq
$$;

CREATE FUNCTION mock.count() RETURNS int
LANGUAGE sql AS $$ SELECT (mock.ctl('count') ->> 'count')::int $$;

-- Run a statement and report how it ended, error fields included.
CREATE FUNCTION mock.try(sql text, OUT state text, OUT message text,
                         OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    state := '00000';
    message := 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE,
                            message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL,
                            hint = PG_EXCEPTION_HINT;
END
$$;

SELECT mock.reset();
SELECT mock.ctl('group?id=TencentShenZhenEmployee&persons=1001,1002');
SELECT mock.state();
SELECT mock.count();
