UPDATE messages SET is_read = 1
    WHERE sender_role = 'client' AND kind = 'message' AND NOT is_read
    AND seq <= (SELECT r.up_to_seq FROM client_reads r WHERE r.thread_id = messages.thread_id);
DROP INDEX messages_client_seq;
CREATE INDEX messages_unread_client ON messages (thread_id)
    WHERE NOT is_read AND sender_role = 'client' AND kind = 'message';
DROP TABLE client_reads;
