DROP INDEX threads_status_activity;
DROP INDEX threads_type_activity;
DROP INDEX threads_status_type_activity;
DROP TABLE thread_labels;
DROP TABLE labels;
