-- Whatever waits in the inbox goes into the rollup first, then clock ends update it directly.
SELECT report_add_clocks(ARRAY(SELECT clock_id FROM report_inbox));
DROP FUNCTION IF EXISTS report_fold(INTEGER);
CREATE OR REPLACE FUNCTION report_clocks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids BIGINT[] := ARRAY(SELECT id FROM new_clocks WHERE ended_at_ms IS NOT NULL);
BEGIN
    IF cardinality(ids) > 0 THEN
        PERFORM report_add_clocks(ids);
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION report_clocks_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids BIGINT[] := ARRAY(SELECT n.id FROM new_clocks n JOIN old_clocks o ON o.id = n.id
                          WHERE o.ended_at_ms IS NULL AND n.ended_at_ms IS NOT NULL);
BEGIN
    IF cardinality(ids) > 0 THEN
        PERFORM report_add_clocks(ids);
    END IF;
    RETURN NULL;
END $$;
DROP TABLE IF EXISTS report_inbox;
