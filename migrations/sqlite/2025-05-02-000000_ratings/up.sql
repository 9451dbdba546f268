-- Clients' ratings of resolved conversations, once per resolution: a resolution is named by the
-- thread's latest message (notes left out) when it is rated, so a client reopening the thread and
-- a new resolve allow a new rating. agent_id is the agent who held the thread last.
CREATE TABLE ratings (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id      BIGINT NOT NULL REFERENCES threads (id),
    client_id      BIGINT NOT NULL REFERENCES users (id),
    agent_id       BIGINT REFERENCES users (id),
    score          INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment        TEXT,
    resolution_seq BIGINT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    CONSTRAINT ratings_once_per_resolution UNIQUE (thread_id, resolution_seq)
);
-- Reports over a period, and per agent.
CREATE INDEX ratings_created ON ratings (created_at_ms);
CREATE INDEX ratings_agent_created ON ratings (agent_id, created_at_ms);
