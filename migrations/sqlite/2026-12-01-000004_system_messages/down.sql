ALTER TABLE messages DROP COLUMN is_system;
