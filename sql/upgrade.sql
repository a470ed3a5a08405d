--
-- ALTER EXTENSION iai UPDATE from 1.0 gives the same objects as a fresh
-- install of the current version: definitions, columns, indexes,
-- constraints, privileges and pg_dump configuration compared.
--
CREATE DATABASE iai_upgraded;
CREATE DATABASE iai_fresh;

-- Every member of the extension, described in full, one line each.
\set fingerprint 'SELECT count(*) AS objects, md5(string_agg(d, E''\n'' ORDER BY d)) AS digest FROM (SELECT pg_describe_object(dep.classid, dep.objid, 0) || '' '' || coalesce(CASE dep.classid WHEN ''pg_proc''::regclass THEN pg_get_functiondef(dep.objid) || coalesce(p.proacl::text, '''') WHEN ''pg_class''::regclass THEN coalesce(pg_get_viewdef(dep.objid), '''') || coalesce(c.relacl::text, '''') || (SELECT coalesce(string_agg(a.attname || '':'' || format_type(a.atttypid, a.atttypmod) || a.attnotnull || coalesce(pg_get_expr(ad.adbin, ad.adrelid), ''''), '','' ORDER BY a.attnum), '''') FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum WHERE a.attrelid = dep.objid AND a.attnum > 0 AND NOT a.attisdropped) || (SELECT coalesce(string_agg(pg_get_indexdef(i.indexrelid), '','' ORDER BY 1), '''') FROM pg_index i WHERE i.indrelid = dep.objid) || (SELECT coalesce(string_agg(pg_get_constraintdef(k.oid), '','' ORDER BY 1), '''') FROM pg_constraint k WHERE k.conrelid = dep.objid) END, '''') AS d FROM pg_depend dep JOIN pg_extension e ON e.oid = dep.refobjid AND e.extname = ''iai'' LEFT JOIN pg_proc p ON dep.classid = ''pg_proc''::regclass AND p.oid = dep.objid LEFT JOIN pg_class c ON dep.classid = ''pg_class''::regclass AND c.oid = dep.objid WHERE dep.deptype = ''e'' UNION ALL SELECT ''config '' || array_to_string(extconfig::regclass[], '','') || '' '' || array_to_string(extcondition, '','') FROM pg_extension WHERE extname = ''iai'') f'

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

SELECT :upgraded_objects AS objects_after_update, :fresh_objects AS objects_fresh,
       :'upgraded_digest' = :'fresh_digest' AS same_definitions;

\c contrib_regression
DROP DATABASE iai_upgraded;
DROP DATABASE iai_fresh;
