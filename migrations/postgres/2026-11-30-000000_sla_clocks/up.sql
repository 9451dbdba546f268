-- SLA clocks (chat_domain::sla): one row per measured wait, stamped when it happens. At most
-- one running clock per thread and track (response, resolution).
CREATE TABLE sla_clocks (
    id              BIGSERIAL PRIMARY KEY,
    thread_id       BIGINT NOT NULL REFERENCES threads (id),
    thread_type     SMALLINT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('first_response', 'next_response', 'resolution')),
    track           TEXT NOT NULL CHECK (track IN ('response', 'resolution')),
    started_at_ms   BIGINT NOT NULL,
    target_seconds  BIGINT,
    due_at_ms       BIGINT,
    at_risk_at_ms   BIGINT,
    warned_at_ms    BIGINT,
    breached_at_ms  BIGINT,
    ended_at_ms     BIGINT,
    agent_id        BIGINT REFERENCES users (id),
    seconds         BIGINT,
    met             BOOLEAN
);
CREATE UNIQUE INDEX sla_clocks_one_running ON sla_clocks (thread_id, track) WHERE ended_at_ms IS NULL;
CREATE INDEX sla_clocks_thread ON sla_clocks (thread_id, started_at_ms);
-- The sweep: running clocks by due and at-risk instants.
CREATE INDEX sla_clocks_due ON sla_clocks (due_at_ms)
    WHERE ended_at_ms IS NULL AND breached_at_ms IS NULL AND due_at_ms IS NOT NULL;
CREATE INDEX sla_clocks_at_risk ON sla_clocks (at_risk_at_ms)
    WHERE ended_at_ms IS NULL AND warned_at_ms IS NULL AND at_risk_at_ms IS NOT NULL;
-- Reports: ended clocks by kind and end time (covering the grouped columns).
CREATE INDEX sla_clocks_report ON sla_clocks (kind, ended_at_ms, seconds, agent_id, thread_type, met)
    WHERE ended_at_ms IS NOT NULL;
-- Reports: threads opened in a range.
CREATE INDEX threads_created ON threads (created_at_ms, thread_type, agent_id);

-- Ratings are reported from `ratings` (2025-05-02-000000_ratings, with its index by time).
