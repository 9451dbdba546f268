-- Ended clocks wait in an inbox instead of updating the rollup in the transaction that ends
-- them. Every clock end of a day, type and bucket upserted the same `report_hist` row and held
-- its lock until commit, so clock ends queued behind each other (the fan-out bench's p99
-- doubled). An insert into the inbox takes no shared row; `report_fold` moves inbox clocks into
-- the rollup in one transaction, on each instance's sweep timer. A report reads the rollup plus
-- the inbox's clocks raw, in one snapshot, so it counts every ended clock exactly once.
CREATE TABLE report_inbox (clock_id BIGINT PRIMARY KEY);
-- Every report reads the whole inbox, dead rows included until a vacuum: vacuum it after a
-- thousand deletions, not after a fifth of its (near zero) live rows plus fifty.
ALTER TABLE report_inbox SET (autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0);

CREATE OR REPLACE FUNCTION report_clocks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_inbox (clock_id) SELECT id FROM new_clocks WHERE ended_at_ms IS NOT NULL;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION report_clocks_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_inbox (clock_id)
    SELECT n.id FROM new_clocks n JOIN old_clocks o ON o.id = n.id
    WHERE o.ended_at_ms IS NULL AND n.ended_at_ms IS NOT NULL;
    RETURN NULL;
END $$;

-- Moves up to `max_clocks` inbox clocks (oldest first) into the rollup, in the caller's
-- transaction, and answers how many. One fold at a time: another instance's fold in progress
-- makes this one answer 0 at once (so two folds never upsert the same rollup rows crosswise).
CREATE FUNCTION report_fold(max_clocks INTEGER) RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
    ids BIGINT[];
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('report_fold')) THEN
        RETURN 0;
    END IF;
    WITH moved AS (
        DELETE FROM report_inbox WHERE clock_id IN (
            SELECT clock_id FROM report_inbox ORDER BY clock_id LIMIT max_clocks)
        RETURNING clock_id)
    SELECT array_agg(clock_id) INTO ids FROM moved;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM report_add_clocks(ids);
    RETURN cardinality(ids);
END $$;
