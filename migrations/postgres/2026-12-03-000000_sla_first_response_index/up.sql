-- What a batched append reads of a thread's clocks (its running clocks and its first-response
-- clock) comes from two small partial indexes instead of every clock the thread ever had.
CREATE INDEX sla_clocks_first_response ON sla_clocks (thread_id) WHERE kind = 'first_response';
