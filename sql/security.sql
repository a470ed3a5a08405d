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

SET search_path = evil, pg_catalog, public;
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
