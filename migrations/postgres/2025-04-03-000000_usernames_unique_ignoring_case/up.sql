-- Usernames are unique without regard to the case of ASCII letters (`maria_new`, `Maria_New`),
-- as on SQLite, whose lower() folds ASCII only: translate(), not lower(), whose folding of other
-- letters depends on the database's locale. Log-in still matches the username exactly.
--
-- Existing case variants make this migration FAIL (a unique violation), loudly, and the server
-- does not start: rename one of each pair first. To find them:
--   SELECT translate(username, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') AS folded,
--          array_agg(id ORDER BY id) FROM users GROUP BY 1 HAVING count(*) > 1;
CREATE UNIQUE INDEX users_username_folded
    ON users (translate(username, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'));
