--
-- Answers in any database encoding.  The service answers in UTF-8, as raw
-- characters or as JSON \u escapes; a database in another encoding gets
-- the API's code and SQLSTATE intact and the text with what it cannot hold
-- replaced by '?', never an encoding error.  The message is
-- "Café 服务 € 😀": LATIN1 holds é only, EUC_CN (GB 2312) é and 服务,
-- SQL_ASCII takes the bytes as they are.  Output is shown in UTF-8.
--
SELECT mock.reset();
SELECT mock.ctl('group?id=EncGroup&persons=e1');
\set msg 'Caf%C3%A9%20%E6%9C%8D%E5%8A%A1%20%E2%82%AC%20%F0%9F%98%80'
\set VERBOSITY terse
-- (unaligned: how wide psql draws these characters varies between versions)
\pset format unaligned

CREATE DATABASE iai_enc_utf8 ENCODING 'UTF8' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C';
CREATE DATABASE iai_enc_latin1 ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C';
CREATE DATABASE iai_enc_sql_ascii ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C';
CREATE DATABASE iai_enc_euc_cn ENCODING 'EUC_CN' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C';

-- The same four answers for each database: an API error with the message
-- raw and escaped, then a successful answer holding it, raw and escaped.
SELECT mock.fault('error', '&code=InternalError&message=' || :'msg');
SELECT mock.fault('error', '&code=InternalError&escape=1&message=' || :'msg');
SELECT mock.fault('text', '&message=' || :'msg');
SELECT mock.fault('text', '&escape=1&message=' || :'msg');
\c iai_enc_utf8
SET client_encoding = 'UTF8';
CREATE EXTENSION iai;
SET iai.max_retries = 0;
SELECT iai_delete_person_from_group('e1', 'EncGroup');
\echo :LAST_ERROR_SQLSTATE
SELECT iai_delete_person_from_group('e1', 'EncGroup');
\echo :LAST_ERROR_SQLSTATE
SELECT iai_call('GetPersonGroupInfo', '{"PersonId": "e1"}') -> 'Text' AS text;
SELECT iai_call('GetPersonGroupInfo', '{"PersonId": "e1"}') -> 'Text' AS text;

\c contrib_regression
SELECT mock.fault('error', '&code=InternalError&message=' || :'msg');
SELECT mock.fault('error', '&code=InternalError&escape=1&message=' || :'msg');
SELECT mock.fault('text', '&message=' || :'msg');
SELECT mock.fault('text', '&escape=1&message=' || :'msg');
\c iai_enc_latin1
SET client_encoding = 'UTF8';
CREATE EXTENSION iai;
SET iai.max_retries = 0;
SELECT iai_delete_person_from_group('e1', 'EncGroup');
\echo :LAST_ERROR_SQLSTATE
SELECT iai_delete_person_from_group('e1', 'EncGroup');
\echo :LAST_ERROR_SQLSTATE
SELECT iai_call('GetPersonGroupInfo', '{"PersonId": "e1"}') -> 'Text' AS text;
SELECT iai_call('GetPersonGroupInfo', '{"PersonId": "e1"}') -> 'Text' AS text;

\c contrib_regression
SELECT mock.fault('error', '&code=InternalError&message=' || :'msg');
SELECT mock.fault('error', '&code=InternalError&escape=1&message=' || :'msg');
SELECT mock.fault('text', '&message=' || :'msg');
SELECT mock.fault('text', '&escape=1&message=' || :'msg');
\c iai_enc_sql_ascii
SET client_encoding = 'UTF8';
CREATE EXTENSION iai;
SET iai.max_retries = 0;
SELECT iai_delete_person_from_group('e1', 'EncGroup');
\echo :LAST_ERROR_SQLSTATE
SELECT iai_delete_person_from_group('e1', 'EncGroup');
\echo :LAST_ERROR_SQLSTATE
SELECT iai_call('GetPersonGroupInfo', '{"PersonId": "e1"}') -> 'Text' AS text;
SELECT iai_call('GetPersonGroupInfo', '{"PersonId": "e1"}') -> 'Text' AS text;

\c contrib_regression
SELECT mock.fault('error', '&code=InternalError&message=' || :'msg');
SELECT mock.fault('error', '&code=InternalError&escape=1&message=' || :'msg');
SELECT mock.fault('text', '&message=' || :'msg');
SELECT mock.fault('text', '&escape=1&message=' || :'msg');
\c iai_enc_euc_cn
SET client_encoding = 'UTF8';
CREATE EXTENSION iai;
SET iai.max_retries = 0;
SELECT iai_delete_person_from_group('e1', 'EncGroup');
\echo :LAST_ERROR_SQLSTATE
SELECT iai_delete_person_from_group('e1', 'EncGroup');
\echo :LAST_ERROR_SQLSTATE
SELECT iai_call('GetPersonGroupInfo', '{"PersonId": "e1"}') -> 'Text' AS text;
SELECT iai_call('GetPersonGroupInfo', '{"PersonId": "e1"}') -> 'Text' AS text;

-- Every request got one of the injected answers.
\c contrib_regression
SELECT fault, verdict, count(*) FROM mock.requests() GROUP BY 1, 2 ORDER BY 1, 2;

DROP DATABASE iai_enc_utf8;
DROP DATABASE iai_enc_latin1;
DROP DATABASE iai_enc_sql_ascii;
DROP DATABASE iai_enc_euc_cn;
