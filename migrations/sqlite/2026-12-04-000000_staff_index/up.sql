-- Staff (active agents and admins) by id: the router reads every staff member's state once per
-- sweep on every instance, and without this it scanned every user, clients included (a 100,000
-- client desk: a scan of 100,000 rows per instance per second). The predicate is the routing
-- queries' own text, so the planner matches it.
CREATE INDEX users_staff ON users (id) WHERE role IN ('agent', 'admin') AND deleted_at_ms IS NULL;
