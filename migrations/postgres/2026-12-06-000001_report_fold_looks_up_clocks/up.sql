-- The rollup's fold looked its inbox clocks up with a join the planner was free to turn around:
-- with statistics older than the clocks (taken when none had ended yet), it hashed every ended
-- clock of the table to join the inbox's ids (42 ms for 1,000 ids in EXPLAIN ANALYZE; 126 ms a
-- fold on average at 5,000 messages/s, and growing with the table). Each id now looks its clock up by primary key (a LATERAL subquery with LIMIT is
-- never flattened into a join), whatever the statistics say.
CREATE OR REPLACE FUNCTION report_add_clocks(ids BIGINT[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_daily AS d (day, fact, thread_type, agent_id, n, answered, total, measured, met)
    SELECT c.ended_at_ms / 86400000, c.kind, c.thread_type, COALESCE(c.agent_id, -1),
           COUNT(*), COUNT(c.seconds), COALESCE(SUM(c.seconds), 0), COUNT(c.met),
           COUNT(*) FILTER (WHERE c.met)
    FROM unnest(ids) AS i (id)
    CROSS JOIN LATERAL (SELECT * FROM sla_clocks s WHERE s.id = i.id LIMIT 1) c
    WHERE c.ended_at_ms IS NOT NULL
    GROUP BY 1, 2, 3, 4
    ON CONFLICT (day, fact, thread_type, agent_id) DO UPDATE
        SET n = d.n + EXCLUDED.n, answered = d.answered + EXCLUDED.answered,
            total = d.total + EXCLUDED.total, measured = d.measured + EXCLUDED.measured, met = d.met + EXCLUDED.met;
    INSERT INTO report_hist AS h (dim, kind, day, key, bucket, n)
    SELECT x.dim, x.kind, x.day, x.key,
           (SELECT b.bucket FROM report_buckets b WHERE b.lo <= GREATEST(x.seconds, 0)
            ORDER BY b.lo DESC LIMIT 1),
           COUNT(*)
    FROM (
        SELECT CASE WHEN v.agent THEN 'agent' ELSE 'type' END AS dim,
               CASE WHEN v.merged THEN 'response' ELSE c.kind END AS kind,
               c.ended_at_ms / 86400000 AS day,
               CASE WHEN v.agent THEN COALESCE(c.agent_id, -1) ELSE c.thread_type END AS key,
               c.seconds
        FROM unnest(ids) AS i (id)
        CROSS JOIN LATERAL (SELECT * FROM sla_clocks s WHERE s.id = i.id LIMIT 1) c
        CROSS JOIN (VALUES (false, false), (true, false), (true, true)) AS v (agent, merged)
        WHERE c.ended_at_ms IS NOT NULL AND c.seconds IS NOT NULL
          AND CASE WHEN v.merged THEN c.kind <> 'resolution' ELSE c.kind <> 'next_response' END
    ) x
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (dim, kind, day, key, bucket) DO UPDATE SET n = h.n + EXCLUDED.n;
END $$;
