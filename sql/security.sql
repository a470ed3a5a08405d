--
-- The extension's SQL does not depend on the caller's search_path: a
-- schema in front of pg_catalog full of look-alike functions and operators
-- cannot hijack it.
--
CREATE SCHEMA evil;
CREATE FUNCTION evil.trap(text, text) RETURNS bool
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked: text = text'; END $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.trap);
CREATE FUNCTION evil.trap8(bigint, bigint) RETURNS bool
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked: bigint = bigint'; END $$;
CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.trap8);
CREATE FUNCTION evil.now() RETURNS timestamptz
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked: now()'; END $$;
CREATE FUNCTION evil.count(anyelement) RETURNS bigint
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked: count()'; END $$;

CREATE FUNCTION evil.trap84(bigint, integer) RETURNS bool
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked: bigint = integer'; END $$;
CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = integer, FUNCTION = evil.trap84);
CREATE FUNCTION evil.trapoid(oid, oid) RETURNS bool
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked: oid = oid'; END $$;
CREATE OPERATOR evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = evil.trapoid);
CREATE FUNCTION evil.trapname(name, name) RETURNS bool
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked: name = name'; END $$;
CREATE OPERATOR evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = evil.trapname);
CREATE FUNCTION evil.unnest(bigint[]) RETURNS SETOF bigint
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked: unnest()'; END $$;
CREATE FUNCTION evil.unnest(text[]) RETURNS SETOF text
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked: unnest()'; END $$;

SET search_path = evil, pg_catalog, public;
-- the queue rows are written at commit as the queue's owner: with the
-- search_path pinned, none of the look-alikes runs (a new backend, so the
-- queue's lookups are made under this search_path)
\c
SET search_path = evil, pg_catalog, public;
BEGIN;
SELECT iai_enqueue_delete_person_from_group('hostile1', 'G') > 0 AS queued;
COMMIT;
SELECT count(*) AS queued_rows FROM public.iai_queue
WHERE params OPERATOR(pg_catalog.->>) 'PersonId' OPERATOR(pg_catalog.=) 'hostile1';
SELECT iai_queue_retry(-1);
SELECT iai_queue_retry_failed() >= 0 AS ran;
SELECT pending >= 0 AS status_readable FROM iai_queue_status;
SELECT count(*) >= 0 AS stats_readable FROM iai_stats;
RESET search_path;

-- Installed into a schema full of such traps, it still works.
CREATE DATABASE iai_hostile;
\c iai_hostile
CREATE SCHEMA evil;
CREATE FUNCTION evil.now() RETURNS timestamptz
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked: now()'; END $$;
CREATE FUNCTION evil.trap(text, text) RETURNS bool
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked: text = text'; END $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.trap);
SET search_path = evil, pg_catalog;
CREATE EXTENSION iai SCHEMA evil;
INSERT INTO evil.iai_queue (action, params, enqueued_by)
VALUES ('DeletePersonFromGroup', '{"PersonId": "p", "GroupId": "g"}', current_user);
UPDATE evil.iai_queue SET state = 'dead';
SELECT evil.iai_queue_retry_failed() AS requeued;
SELECT pending FROM evil.iai_queue_status;
RESET search_path;
\c contrib_regression
DROP DATABASE iai_hostile;
DROP SCHEMA evil CASCADE;
