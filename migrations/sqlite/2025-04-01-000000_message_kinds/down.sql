DROP INDEX messages_unread_client;
ALTER TABLE messages DROP COLUMN kind;
