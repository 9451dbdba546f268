-- Files attached to messages. The bytes are in the blob store under `attachments/<id>`; this is
-- their metadata. id: 32 random hex digits (not guessable). content_type: the type recognised
-- from the content at upload. message_id: set once, in the transaction that stores the message
-- naming it (by its uploader, in its thread); NULL until then (unattached uploads may be swept).
CREATE TABLE attachments (
    id            TEXT PRIMARY KEY,
    thread_id     BIGINT NOT NULL REFERENCES threads (id),
    uploader_id   BIGINT NOT NULL REFERENCES users (id),
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL CHECK (size > 0),
    name          TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    message_id    BIGINT REFERENCES messages (id)
);
-- A message's attachments (message lists), and the unattached ones by age (a later sweep).
CREATE INDEX attachments_message ON attachments (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX attachments_unattached ON attachments (created_at_ms) WHERE message_id IS NULL;
