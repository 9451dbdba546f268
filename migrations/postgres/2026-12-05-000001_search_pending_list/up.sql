-- Message search's GIN index takes inserts through its pending list again (fastupdate): a send
-- appends its words there, about a third of what inserting them into the index costs. Each
-- store's upkeep thread (`store::search_upkeep`) moves the list into the index in bulk every
-- quarter second, so it stays far below gin_pending_list_limit and no send finds it full and
-- merges it itself (the stall that turned the list off in 2025-03-01-000000).
ALTER INDEX messages_body_fts SET (fastupdate = on);
