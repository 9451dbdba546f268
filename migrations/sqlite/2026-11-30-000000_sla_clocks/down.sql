DROP INDEX IF EXISTS ratings_created;
DROP INDEX IF EXISTS threads_created;
DROP TABLE sla_clocks;
