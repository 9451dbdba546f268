-- The queue's first waiting message of each thread: a range scan from the thread's waiting_since
-- (without it, the lookup reads every message of each thread on the page).
CREATE INDEX messages_thread_created ON messages (thread_id, created_at_ms);
