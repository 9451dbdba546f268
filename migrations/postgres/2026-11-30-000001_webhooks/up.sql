-- Webhooks: endpoints, their subscriptions, the outbox (events written in the transaction of the
-- change they report) and one delivery row per event and endpoint, leased by the workers.
CREATE TABLE webhook_endpoints (
    id            BIGSERIAL PRIMARY KEY,
    url           TEXT NOT NULL,
    secret        TEXT NOT NULL,
    include_notes BOOLEAN NOT NULL DEFAULT FALSE,
    enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at_ms BIGINT NOT NULL
);
CREATE TABLE webhook_subscriptions (
    event_type  TEXT NOT NULL,
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    PRIMARY KEY (event_type, endpoint_id)
);
CREATE TABLE webhook_events (
    id            BIGSERIAL PRIMARY KEY,
    event_type    TEXT NOT NULL,
    thread_id     BIGINT NOT NULL,
    is_note       BOOLEAN NOT NULL,
    data          TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
-- Replays from a time.
CREATE INDEX webhook_events_created ON webhook_events (created_at_ms);
CREATE TABLE webhook_deliveries (
    id                 BIGSERIAL PRIMARY KEY,
    endpoint_id        BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id           BIGINT NOT NULL REFERENCES webhook_events (id),
    thread_id          BIGINT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts           BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    leased_until_ms    BIGINT,
    last_status        BIGINT,
    last_error         TEXT,
    last_duration_ms   BIGINT,
    last_attempt_at_ms BIGINT,
    created_at_ms      BIGINT NOT NULL
);
-- The workers' lease (due, and the earlier pending delivery of the same thread and endpoint).
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, thread_id, id)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at_ms)
    WHERE state = 'pending';
-- An endpoint's delivery log, newest first.
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, id);
