-- A rating is once per resolution: each thread counts its resolutions, and a rating is keyed on
-- that count. Threads from before start at the key their ratings used (their latest message's
-- seq, notes left out), so an existing rating still holds for the resolution it rated.
ALTER TABLE threads ADD COLUMN resolutions BIGINT NOT NULL DEFAULT 0;
UPDATE threads
   SET resolutions = COALESCE(
       (SELECT MAX(seq) FROM messages WHERE messages.thread_id = threads.id AND kind = 'message'), 0);
