DROP TRIGGER IF EXISTS report_rating_inserted;
DROP TRIGGER IF EXISTS report_thread_agent_changed;
DROP TRIGGER IF EXISTS report_thread_opened;
DROP TRIGGER IF EXISTS report_clock_ended;
DROP TRIGGER IF EXISTS report_clock_inserted;
DROP TABLE IF EXISTS report_hist;
DROP TABLE IF EXISTS report_daily;
DROP TABLE IF EXISTS report_buckets;
