UPDATE messages m SET is_read = TRUE FROM client_reads r
    WHERE m.thread_id = r.thread_id AND m.seq <= r.up_to_seq
    AND m.sender_role = 'client' AND m.kind = 'message' AND NOT m.is_read;
DROP INDEX messages_client_seq;
CREATE INDEX messages_unread_client ON messages (thread_id)
    WHERE NOT is_read AND sender_role = 'client' AND kind = 'message';
DROP TABLE client_reads;
