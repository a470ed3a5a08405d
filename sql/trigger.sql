--
-- iai_delete_person_trigger(): HR deletes remove the person from the group.
--
SELECT mock.reset();
SELECT mock.ctl('group?id=TencentShenZhenEmployee&persons=1001,1002,1003,1004,1005');
SELECT mock.ctl('group?id=TencentBeijingEmployee&persons=2001,2002');

CREATE TABLE employees (
    employee_id int PRIMARY KEY,
    name text NOT NULL
);
INSERT INTO employees VALUES (1001, 'Li Lei'), (1002, 'Han Meimei'),
    (1003, 'Wang Fang'), (1009, 'Not Enrolled'), (1004, 'Zhang Wei');

CREATE TRIGGER employees_iai
    AFTER DELETE ON employees
    FOR EACH ROW
    EXECUTE FUNCTION iai_delete_person_trigger('employee_id', 'TencentShenZhenEmployee');

-- A delete makes one signed call per row (an int column, rendered as text).
DELETE FROM employees WHERE employee_id IN (1001, 1002);
SELECT verdict, person, grp FROM mock.requests();
SELECT mock.state();

-- A failing call aborts the statement: the row stays.
\set VERBOSITY default
DELETE FROM employees WHERE employee_id = 1009;
SELECT count(*) AS still_there FROM employees WHERE employee_id = 1009;

-- A statement touching several rows is all or nothing on the SQL side,
-- but a call that already succeeded is not undone: 1003 is gone from the
-- group although its row is back.
DELETE FROM employees WHERE employee_id IN (1003, 1009);
SELECT employee_id FROM employees ORDER BY 1;
SELECT mock.state() -> 'TencentShenZhenEmployee' AS shenzhen;

-- Likewise when the transaction rolls back after a successful call.
BEGIN;
DELETE FROM employees WHERE employee_id = 1004;
ROLLBACK;
SELECT count(*) AS row_restored FROM employees WHERE employee_id = 1004;
SELECT mock.state() -> 'TencentShenZhenEmployee' AS shenzhen;

-- missing_ok: a person already absent from the group is success.
DROP TRIGGER employees_iai ON employees;
CREATE TRIGGER employees_iai
    AFTER DELETE ON employees
    FOR EACH ROW
    EXECUTE FUNCTION iai_delete_person_trigger('employee_id', 'TencentShenZhenEmployee', 'missing_ok');
DELETE FROM employees WHERE employee_id IN (1009, 1004);
SELECT count(*) AS left_rows FROM employees;
SELECT verdict, person FROM mock.requests() ORDER BY seq DESC LIMIT 2;

-- The GroupId from a column of the row; a text PersonId column.
CREATE TABLE staff (
    person_id text,
    face_group text,
    deleted bool NOT NULL DEFAULT false
);
INSERT INTO staff VALUES ('2001', 'TencentBeijingEmployee'),
    ('1005', 'TencentShenZhenEmployee'), ('2002', 'TencentBeijingEmployee'),
    (NULL, 'TencentBeijingEmployee'), ('2002', NULL);
CREATE TRIGGER staff_iai
    AFTER DELETE ON staff
    FOR EACH ROW
    EXECUTE FUNCTION iai_delete_person_trigger('person_id', 'column=face_group');
DELETE FROM staff WHERE person_id IN ('2001', '1005');
SELECT verdict, person, grp FROM mock.requests() ORDER BY seq DESC LIMIT 2;

-- A NULL id in the row is refused before sending, naming the column.
DELETE FROM staff WHERE person_id IS NULL;
DELETE FROM staff WHERE face_group IS NULL;

-- AFTER UPDATE acts on the OLD row: a soft delete, and a transfer.
DROP TRIGGER staff_iai ON staff;
DELETE FROM staff WHERE person_id IS NULL OR face_group IS NULL;
SELECT mock.ctl('group?id=TencentShenZhenEmployee&persons=2002');
CREATE TRIGGER staff_soft_delete
    AFTER UPDATE OF deleted ON staff
    FOR EACH ROW
    WHEN (NEW.deleted AND NOT OLD.deleted)
    EXECUTE FUNCTION iai_delete_person_trigger('person_id', 'column=face_group');
CREATE TRIGGER staff_transfer
    AFTER UPDATE OF face_group ON staff
    FOR EACH ROW
    WHEN (OLD.face_group IS DISTINCT FROM NEW.face_group)
    EXECUTE FUNCTION iai_delete_person_trigger('person_id', 'column=face_group');
SELECT count(*) AS calls_before FROM mock.requests();
UPDATE staff SET face_group = 'TencentShenZhenEmployee' WHERE person_id = '2002';
SELECT verdict, person, grp FROM mock.requests() ORDER BY seq DESC LIMIT 1;
UPDATE staff SET deleted = true WHERE person_id = '2002';
SELECT verdict, person, grp FROM mock.requests() ORDER BY seq DESC LIMIT 1;
-- no call when the WHEN condition is false
UPDATE staff SET deleted = true WHERE person_id = '2002';
SELECT count(*) AS calls_after FROM mock.requests();
SELECT mock.state();

-- Deferred to commit: no call until COMMIT; a failure there aborts the commit.
SELECT mock.ctl('group?id=TencentShenZhenEmployee&persons=3001,3002');
CREATE TABLE contractors (contractor_id text PRIMARY KEY);
INSERT INTO contractors VALUES ('3001'), ('3002'), ('3009');
CREATE CONSTRAINT TRIGGER contractors_iai
    AFTER DELETE ON contractors
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    EXECUTE FUNCTION iai_delete_person_trigger('contractor_id', 'TencentShenZhenEmployee');
BEGIN;
DELETE FROM contractors WHERE contractor_id = '3001';
SELECT count(*) AS calls_before_commit FROM mock.requests() WHERE person = '3001';
COMMIT;
SELECT verdict, person FROM mock.requests() WHERE person = '3001';
BEGIN;
DELETE FROM contractors WHERE contractor_id IN ('3002', '3009');
COMMIT;
SELECT contractor_id FROM contractors ORDER BY 1;

-- Misuse is reported clearly.
CREATE TABLE misuse (id text, g text);
INSERT INTO misuse VALUES ('1', 'g');
CREATE TRIGGER m BEFORE DELETE ON misuse FOR EACH ROW
    EXECUTE FUNCTION iai_delete_person_trigger('id', 'g');
DELETE FROM misuse;
DROP TRIGGER m ON misuse;
CREATE TRIGGER m AFTER DELETE ON misuse FOR EACH STATEMENT
    EXECUTE FUNCTION iai_delete_person_trigger('id', 'g');
DELETE FROM misuse;
DROP TRIGGER m ON misuse;
CREATE TRIGGER m AFTER INSERT ON misuse FOR EACH ROW
    EXECUTE FUNCTION iai_delete_person_trigger('id', 'g');
INSERT INTO misuse VALUES ('2', 'g');
DROP TRIGGER m ON misuse;
CREATE TRIGGER m AFTER DELETE ON misuse FOR EACH ROW
    EXECUTE FUNCTION iai_delete_person_trigger('id');
DELETE FROM misuse;
DROP TRIGGER m ON misuse;
CREATE TRIGGER m AFTER DELETE ON misuse FOR EACH ROW
    EXECUTE FUNCTION iai_delete_person_trigger('no_such_column', 'g');
DELETE FROM misuse;
DROP TRIGGER m ON misuse;
CREATE TRIGGER m AFTER DELETE ON misuse FOR EACH ROW
    EXECUTE FUNCTION iai_delete_person_trigger('id', 'column=nope');
DELETE FROM misuse;
DROP TRIGGER m ON misuse;
CREATE TRIGGER m AFTER DELETE ON misuse FOR EACH ROW
    EXECUTE FUNCTION iai_delete_person_trigger('id', 'g', 'missing-ok');
DELETE FROM misuse;
DROP TRIGGER m ON misuse;
SELECT iai_delete_person_trigger();
SELECT count(*) AS misuse_rows_kept FROM misuse;
