--
-- Bad input is refused with the code the API itself would use, before any
-- request is sent.
--
SELECT mock.reset();

CREATE FUNCTION pg_temp.refused(sql text, OUT state text, OUT message text)
LANGUAGE sql AS $$ SELECT t.state, t.message FROM mock.try(sql) t $$;

SELECT label, r.*
FROM (VALUES
    ('NULL person',        $$SELECT iai_delete_person_from_group(NULL, 'g1')$$),
    ('NULL group',         $$SELECT iai_delete_person_from_group('p1', NULL)$$),
    ('empty person',       $$SELECT iai_delete_person_from_group('', 'g1')$$),
    ('empty group',        $$SELECT iai_delete_person_from_group('p1', '')$$),
    ('65-byte person',     $$SELECT iai_delete_person_from_group(repeat('p', 65), 'g1')$$),
    ('65-byte group',      $$SELECT iai_delete_person_from_group('p1', repeat('g', 65))$$),
    ('space in person',    $$SELECT iai_delete_person_from_group('p 1', 'g1')$$),
    ('dot in group',       $$SELECT iai_delete_person_from_group('p1', 'g.1')$$),
    ('quote in person',    $$SELECT iai_delete_person_from_group('p"1', 'g1')$$),
    ('newline in group',   $$SELECT iai_delete_person_from_group('p1', E'g\n1')$$),
    ('non-ASCII person',   $$SELECT iai_delete_person_from_group('张三', 'g1')$$),
    ('22 x 3-byte group',  $$SELECT iai_delete_person_from_group('p1', repeat('组', 22))$$),
    ('slash in group',     $$SELECT iai_delete_person_from_group('p1', 'a/b')$$),
    ('iai_call: no PersonId', $$SELECT iai_call('DeletePersonFromGroup', '{"GroupId": "g1"}')$$),
    ('iai_call: null GroupId', $$SELECT iai_call('DeletePersonFromGroup', '{"PersonId": "p1", "GroupId": null}')$$),
    ('iai_call: numeric id', $$SELECT iai_call('DeletePersonFromGroup', '{"PersonId": 1001, "GroupId": "g1"}')$$),
    ('iai_call: bad id, other action', $$SELECT iai_call('GetPersonGroupInfo', '{"PersonId": "a b"}')$$),
    ('iai_call: array params', $$SELECT iai_call('DeletePersonFromGroup', '[1, 2]')$$),
    ('iai_call: NULL action', $$SELECT iai_call(NULL, '{}')$$),
    ('iai_call: bad action', $$SELECT iai_call('Delete Person', '{}')$$),
    ('iai_call: header injection', $$SELECT iai_call(E'Get\r\nX-Evil: 1', '{}')$$)
) AS c(label, sql),
LATERAL pg_temp.refused(c.sql) r;

-- Details and hints of one refusal.
\x on
SELECT * FROM mock.try($$SELECT iai_delete_person_from_group('p1', repeat('g', 65))$$);
\x off

-- Not one of them reached the endpoint.
SELECT mock.count() AS requests_sent;

-- The limits are exact: 64 bytes and every allowed character pass the
-- checks (the mock then answers from its state).
SELECT mock.ctl('group?id=' || repeat('g', 64) || '&persons=' || repeat('p', 64));
SELECT iai_delete_person_from_group(repeat('p', 64), repeat('g', 64)) IS NOT NULL AS removed;
SELECT mock.ctl('group?id=G-%25%40%23%26_9&persons=a-b%25c%40d%23e%26f_g');
SELECT mock.state();
SELECT iai_delete_person_from_group('a-b%c@d#e&f_g', 'G-%@#&_9') IS NOT NULL AS removed;
SELECT verdict, person, grp FROM mock.requests();
