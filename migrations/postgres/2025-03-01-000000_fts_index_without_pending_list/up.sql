-- Message search's GIN index takes each insert directly instead of through a pending list.
-- With the pending list (fastupdate, the default), the insert that finds it over
-- gin_pending_list_limit merges the whole list into the index before it returns: one message in
-- a few thousand then took hundreds of milliseconds (docs/BENCHMARKS.md). A direct insert costs
-- a few index entries per message, every time, and never stalls a send.
ALTER INDEX messages_body_fts SET (fastupdate = off);
-- Entries already pending move into the index now, not on some later send.
SELECT gin_clean_pending_list('messages_body_fts'::regclass);
