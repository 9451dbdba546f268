-- Messages the desk writes itself (the auto-resolve notice) rather than a person: shown to the
-- client and staff like a message, as a notice of the conversation. Every existing row was typed.
ALTER TABLE messages ADD COLUMN is_system BOOLEAN NOT NULL DEFAULT FALSE;
