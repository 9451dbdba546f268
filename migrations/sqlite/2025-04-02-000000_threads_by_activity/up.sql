-- Staff's lists of conversations, newest activity first: every thread ("All"), and the threads
-- an agent holds ("Mine").
CREATE INDEX threads_activity ON threads (last_activity_at_ms DESC, id DESC);
CREATE INDEX threads_claim_activity ON threads (claim_agent_id, last_activity_at_ms DESC, id DESC)
    WHERE claim_agent_id IS NOT NULL;
