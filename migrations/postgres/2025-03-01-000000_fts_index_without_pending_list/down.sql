ALTER INDEX messages_body_fts SET (fastupdate = on);
