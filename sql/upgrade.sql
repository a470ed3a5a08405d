--
-- ALTER EXTENSION iai UPDATE from 1.0 gives the same objects as a fresh
-- install of the current version: definitions, columns, indexes,
-- constraints, privileges and pg_dump configuration compared.
--
CREATE DATABASE iai_upgraded;
CREATE DATABASE iai_fresh;

-- Every member of the extension, one line each: its name and a digest of
-- its full description.
\set fingerprint 'SELECT string_agg(d, E''\n'' ORDER BY d) AS objects FROM (SELECT pg_describe_object(dep.classid, dep.objid, 0) || '' '' || md5(coalesce(CASE dep.classid WHEN ''pg_proc''::regclass THEN pg_get_functiondef(dep.objid) || coalesce(p.proacl::text, '''') WHEN ''pg_class''::regclass THEN coalesce(pg_get_viewdef(dep.objid), '''') || coalesce(c.relacl::text, '''') || (SELECT coalesce(string_agg(a.attname || '':'' || format_type(a.atttypid, a.atttypmod) || a.attnotnull || coalesce(pg_get_expr(ad.adbin, ad.adrelid), ''''), '','' ORDER BY a.attnum), '''') FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum WHERE a.attrelid = dep.objid AND a.attnum > 0 AND NOT a.attisdropped) || (SELECT coalesce(string_agg(pg_get_indexdef(i.indexrelid), '','' ORDER BY pg_get_indexdef(i.indexrelid)), '''') FROM pg_index i WHERE i.indrelid = dep.objid) || (SELECT coalesce(string_agg(pg_get_constraintdef(k.oid), '','' ORDER BY pg_get_constraintdef(k.oid)), '''') FROM pg_constraint k WHERE k.conrelid = dep.objid) END, '''')) AS d FROM pg_depend dep JOIN pg_extension e ON e.oid = dep.refobjid AND e.extname = ''iai'' LEFT JOIN pg_proc p ON dep.classid = ''pg_proc''::regclass AND p.oid = dep.objid LEFT JOIN pg_class c ON dep.classid = ''pg_class''::regclass AND c.oid = dep.objid WHERE dep.deptype = ''e'' UNION ALL SELECT ''config '' || array_to_string(extconfig::regclass[], '','') || '' '' || array_to_string(extcondition, '','') FROM pg_extension WHERE extname = ''iai'') f'

\c iai_upgraded
CREATE EXTENSION iai VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'iai';
ALTER EXTENSION iai UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'iai';
:fingerprint \gset upgraded_

\c iai_fresh
CREATE EXTENSION iai;
SELECT extversion FROM pg_extension WHERE extname = 'iai';
:fingerprint \gset fresh_

-- The two sets of objects are the same: nothing only in one of them.
-- (Compared as sets: how many objects an extension has differs between
-- PostgreSQL versions.)
SELECT 'only after update' AS side, o AS object
FROM (SELECT pg_catalog.unnest(string_to_array(:'upgraded_objects', E'\n'))
      EXCEPT SELECT pg_catalog.unnest(string_to_array(:'fresh_objects', E'\n'))) x(o)
UNION ALL
SELECT 'only in fresh install', o
FROM (SELECT pg_catalog.unnest(string_to_array(:'fresh_objects', E'\n'))
      EXCEPT SELECT pg_catalog.unnest(string_to_array(:'upgraded_objects', E'\n'))) y(o)
ORDER BY 1, 2;
SELECT :'upgraded_objects' <> '' AS has_objects,
       :'upgraded_objects' = :'fresh_objects' AS same_objects;

\c contrib_regression
DROP DATABASE iai_upgraded;
DROP DATABASE iai_fresh;
