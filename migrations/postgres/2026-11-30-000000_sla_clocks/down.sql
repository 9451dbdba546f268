DROP INDEX IF EXISTS threads_created;
DROP TABLE sla_clocks;
