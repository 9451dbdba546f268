DROP INDEX messages_thread_created;
