/* iai--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION iai" to load this file. \quit

-- Every name below is schema-qualified, so the script means the same
-- whatever search_path the installing role has.

CREATE FUNCTION @extschema@.iai_call(action pg_catalog.text,
                                     params pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'iai_call'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.iai_call(pg_catalog.text, pg_catalog.jsonb) IS
'Call an IAI API 3.0 action (version 2018-03-01) with a signed request; returns the Response object';

CREATE FUNCTION @extschema@.iai_delete_person_from_group(person pg_catalog.text,
                                                         grp pg_catalog.text)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'iai_delete_person_from_group'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.iai_delete_person_from_group(pg_catalog.text, pg_catalog.text) IS
'Remove a person from a person group (DeletePersonFromGroup); returns the RequestId';

CREATE FUNCTION @extschema@.iai_delete_person_trigger()
RETURNS pg_catalog.trigger
AS 'MODULE_PATHNAME', 'iai_delete_person_trigger'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.iai_delete_person_trigger() IS
'AFTER DELETE/UPDATE row trigger: iai_delete_person_trigger(''person_column'', ''GroupId'' | ''column=group_column'' [, ''missing_ok''])';

-- Calls go out with the server's credentials: only roles granted EXECUTE
-- may make them.
REVOKE ALL ON FUNCTION @extschema@.iai_call(pg_catalog.text, pg_catalog.jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.iai_delete_person_from_group(pg_catalog.text, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.iai_delete_person_trigger() FROM PUBLIC;
