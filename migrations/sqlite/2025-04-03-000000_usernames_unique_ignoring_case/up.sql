-- Usernames are unique without regard to the case of ASCII letters (`maria_new`, `Maria_New`);
-- SQLite's lower() folds ASCII only (as Postgres' translate() in migrations/postgres). Log-in
-- still matches the username exactly.
--
-- Existing case variants make this migration FAIL (a unique violation), loudly, and the server
-- does not start: rename one of each pair first. To find them:
--   SELECT lower(username), group_concat(id) FROM users GROUP BY 1 HAVING count(*) > 1;
CREATE UNIQUE INDEX users_username_folded ON users (lower(username));
