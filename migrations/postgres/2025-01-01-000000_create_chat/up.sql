-- The support chat's tables. Same shape as migrations/sqlite; times are unix milliseconds.

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('client', 'agent', 'admin')),
    created_at_ms BIGINT NOT NULL,
    deleted_at_ms BIGINT
);

CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id),
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE threads (
    id                  BIGSERIAL PRIMARY KEY,
    client_id           BIGINT NOT NULL REFERENCES users (id),
    thread_type         SMALLINT NOT NULL CHECK (thread_type IN (1, 2, 3)),
    status              TEXT NOT NULL CHECK (status IN ('open', 'pending', 'resolved')),
    claim_agent_id      BIGINT REFERENCES users (id),
    claim_until_ms      BIGINT,
    agent_id            BIGINT REFERENCES users (id),
    created_at_ms       BIGINT NOT NULL,
    last_activity_at_ms BIGINT NOT NULL,
    last_seq            BIGINT NOT NULL DEFAULT 0,
    waiting_since_ms    BIGINT,
    urgency_score       BIGINT NOT NULL DEFAULT 0,
    urgency_reasons     TEXT NOT NULL DEFAULT '[]',
    rank_key            BIGINT NOT NULL
);
-- One thread per (client, type) that is not resolved: open_thread inserts and, on a violation,
-- reads the winner's row.
CREATE UNIQUE INDEX threads_one_unresolved_per_type ON threads (client_id, thread_type)
    WHERE status <> 'resolved';
-- The agents' queue, in its exact order.
CREATE INDEX threads_queue ON threads (rank_key DESC, waiting_since_ms, id)
    WHERE waiting_since_ms IS NOT NULL AND status <> 'resolved';
CREATE INDEX threads_client_activity ON threads (client_id, last_activity_at_ms DESC, id DESC);
CREATE INDEX threads_claim_until ON threads (claim_until_ms) WHERE claim_until_ms IS NOT NULL;

CREATE TABLE messages (
    id                BIGSERIAL PRIMARY KEY,
    thread_id         BIGINT NOT NULL REFERENCES threads (id),
    seq               BIGINT NOT NULL,
    sender_id         BIGINT NOT NULL REFERENCES users (id),
    sender_role       TEXT NOT NULL CHECK (sender_role IN ('client', 'agent', 'admin')),
    body              TEXT NOT NULL,
    created_at_ms     BIGINT NOT NULL,
    is_read           BOOLEAN NOT NULL DEFAULT FALSE,
    client_message_id TEXT,
    CONSTRAINT messages_thread_seq UNIQUE (thread_id, seq),
    CONSTRAINT messages_sender_client_message_id UNIQUE (sender_id, client_message_id)
);
-- conversation_between (threads an agent wrote in) and count_sent_by.
CREATE INDEX messages_sender_thread ON messages (sender_id, thread_id);
-- Full-text search ('simple': lowercased words, no stemming, like the in-memory reference).
CREATE INDEX messages_body_fts ON messages USING GIN (to_tsvector('simple', body));

CREATE TABLE canned_replies (
    id            BIGSERIAL PRIMARY KEY,
    title         TEXT COLLATE "C" NOT NULL, -- ordered bytewise, as SQLite and the reference do
    body          TEXT NOT NULL,
    created_by    BIGINT NOT NULL REFERENCES users (id),
    created_at_ms BIGINT NOT NULL
);
