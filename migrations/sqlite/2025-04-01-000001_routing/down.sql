DROP TABLE routing_settings;
DROP INDEX threads_claim_agent;
ALTER TABLE users DROP COLUMN availability_changed_at_ms;
ALTER TABLE users DROP COLUMN last_assigned_at_ms;
ALTER TABLE users DROP COLUMN capacity;
ALTER TABLE users DROP COLUMN availability;
