-- Routing: staff availability and capacity, the last assignment (the router's tie-break), and
-- the routing mode every instance follows. Same shape as migrations/sqlite.
ALTER TABLE users ADD COLUMN availability TEXT NOT NULL DEFAULT 'offline'
    CHECK (availability IN ('online', 'away', 'offline'));
ALTER TABLE users ADD COLUMN capacity BIGINT CHECK (capacity BETWEEN 0 AND 100);
ALTER TABLE users ADD COLUMN last_assigned_at_ms BIGINT;
ALTER TABLE users ADD COLUMN availability_changed_at_ms BIGINT;

-- An agent's held conversations (live claims), counted on every assignment.
CREATE INDEX threads_claim_agent ON threads (claim_agent_id, claim_until_ms)
    WHERE claim_agent_id IS NOT NULL;

-- One row (id 1); its mode is NULL until an admin sets one (then the configured default holds).
CREATE TABLE routing_settings (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    mode TEXT CHECK (mode IN ('auto', 'manual'))
);
INSERT INTO routing_settings (id, mode) VALUES (1, NULL);
