-- Which client messages staff have read: one mark per thread (the client's messages up to
-- `up_to_seq` are read) instead of a flag rewritten on each message. An agent's reply marks the
-- client's messages before it read, which was an UPDATE of every one of those rows: never HOT
-- (`is_read` is in an index predicate), so each rewrote all the message's index entries, the
-- full-text GIN entries too. Read client messages were always a prefix of the thread's client
-- messages (every mark covers "up to a seq", under the thread's lock), so the prefix's end says
-- it all. `messages.is_read` stays for the staff's messages a client marks read, and for rows
-- stored before this mark existed.
CREATE TABLE client_reads (
    thread_id INTEGER PRIMARY KEY REFERENCES threads (id) ON DELETE CASCADE,
    up_to_seq BIGINT NOT NULL
);
INSERT INTO client_reads (thread_id, up_to_seq)
    SELECT thread_id, max(seq) FROM messages
    WHERE is_read AND sender_role = 'client' AND kind = 'message'
    GROUP BY thread_id;
-- "My conversations": a thread's client messages after its mark (the literal predicate is the
-- query's); the index no longer names `is_read`, which nothing updates on client messages.
DROP INDEX messages_unread_client;
CREATE INDEX messages_client_seq ON messages (thread_id, seq)
    WHERE sender_role = 'client' AND kind = 'message';
