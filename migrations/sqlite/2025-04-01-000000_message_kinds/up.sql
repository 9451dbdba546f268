-- Private notes: a thread's entries are messages (the client and the desk see them) or notes
-- (staff only). Notes share the thread's sequence numbers, so replay and resume cover them.
-- Every existing row is a message.
ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'message'
    CHECK (kind IN ('message', 'note'));
-- "My conversations": unread client messages per thread (the literal predicate is the query's).
CREATE INDEX messages_unread_client ON messages (thread_id)
    WHERE NOT is_read AND sender_role = 'client' AND kind = 'message';
