-- What a batched append reads of its threads' clocks (`ended_at_ms IS NULL OR kind =
-- 'first_response'`) is exactly this index's predicate, so the read is one index scan whatever
-- the statistics say. With the two partial indexes it replaces in part (`sla_clocks_one_running`
-- stays: it keeps one running clock per track), Postgres had to combine them in a BitmapOr, and
-- chose instead to read every clock the thread ever had through `sla_clocks_thread` while the
-- table's statistics were older than its clocks (a busy thread ends a clock with every reply):
-- 1.3 ms a batch at 5,000 messages/s, a third of the batch's time under its thread locks.
CREATE INDEX sla_clocks_live ON sla_clocks (thread_id) WHERE ended_at_ms IS NULL OR kind = 'first_response';
DROP INDEX sla_clocks_first_response;
