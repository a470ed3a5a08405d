-- iai demo: run by test/demo against the bundled mock endpoint over HTTPS.
\pset footer off
CREATE EXTENSION iai;
SHOW iai.endpoint;

-- An HR table whose deletes remove the person from the face group.
CREATE TABLE employees (employee_id int PRIMARY KEY, name text NOT NULL);
INSERT INTO employees VALUES (1001, 'Li Lei'), (1002, 'Han Meimei'), (3001, 'Wang Fang');
CREATE TRIGGER employees_iai
    AFTER DELETE ON employees
    FOR EACH ROW
    EXECUTE FUNCTION iai_delete_person_trigger('employee_id', 'TencentShenZhenEmployee');

-- 1001 is in the group: the signed call succeeds and the row is gone.
DELETE FROM employees WHERE employee_id = 1001;

-- 3001 is enrolled in another group only: the API's error aborts the delete...
\set VERBOSITY verbose
DELETE FROM employees WHERE employee_id = 3001;
\set VERBOSITY default
-- ...so the row is still there.
SELECT * FROM employees ORDER BY employee_id;

-- The same call from plain SQL returns the RequestId.
SELECT iai_delete_person_from_group('1002', 'TencentShenZhenEmployee') AS request_id;

-- After-commit mode: the delete only queues the call; the background worker
-- sends it once the transaction has committed.
CREATE TABLE contractors (contractor_id int PRIMARY KEY);
INSERT INTO contractors VALUES (1003);
CREATE TRIGGER contractors_iai
    AFTER DELETE ON contractors
    FOR EACH ROW
    EXECUTE FUNCTION iai_delete_person_trigger('contractor_id', 'TencentShenZhenEmployee', 'async');
DELETE FROM contractors WHERE contractor_id = 1003;
SELECT pg_sleep(1);
SELECT id, params, state, attempts, request_id FROM iai_queue;
SELECT pending, done, dead, worker_alive FROM iai_queue_status;

-- What the calls did.
SELECT action, calls, successes, failures, requests, errors_by_code FROM iai_stats;
