ALTER INDEX messages_body_fts SET (fastupdate = off);
SELECT gin_clean_pending_list('messages_body_fts'::regclass);
