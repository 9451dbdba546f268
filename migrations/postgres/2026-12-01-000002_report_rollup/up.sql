-- Reports from a rollup (issue 14): the day's counts and the seconds' histograms, kept by
-- triggers in the same transaction as each change they count, so every writer (the stores, a
-- bulk load, a backfill) keeps them true. Days are UTC days (`ms / 86400000`), as the reports
-- group them; a report reads the whole days of its range here and its partial edge days raw.

-- The histogram's buckets (`chat_domain::report::lower_bounds`, a test compares the two): 0 to
-- 19 seconds one bucket each, then each bucket 10 % of its lower bound wide, up to past 2^31 s.
CREATE TABLE report_buckets (
    bucket SMALLINT PRIMARY KEY,
    lo     BIGINT NOT NULL UNIQUE
);
INSERT INTO report_buckets (bucket, lo) VALUES
    (0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (7, 7),
    (8, 8), (9, 9), (10, 10), (11, 11), (12, 12), (13, 13), (14, 14), (15, 15),
    (16, 16), (17, 17), (18, 18), (19, 19), (20, 20), (21, 22), (22, 24), (23, 26),
    (24, 28), (25, 30), (26, 33), (27, 36), (28, 39), (29, 42), (30, 46), (31, 50),
    (32, 55), (33, 60), (34, 66), (35, 72), (36, 79), (37, 86), (38, 94), (39, 103),
    (40, 113), (41, 124), (42, 136), (43, 149), (44, 163), (45, 179), (46, 196), (47, 215),
    (48, 236), (49, 259), (50, 284), (51, 312), (52, 343), (53, 377), (54, 414), (55, 455),
    (56, 500), (57, 550), (58, 605), (59, 665), (60, 731), (61, 804), (62, 884), (63, 972),
    (64, 1069), (65, 1175), (66, 1292), (67, 1421), (68, 1563), (69, 1719), (70, 1890), (71, 2079),
    (72, 2286), (73, 2514), (74, 2765), (75, 3041), (76, 3345), (77, 3679), (78, 4046), (79, 4450),
    (80, 4895), (81, 5384), (82, 5922), (83, 6514), (84, 7165), (85, 7881), (86, 8669), (87, 9535),
    (88, 10488), (89, 11536), (90, 12689), (91, 13957), (92, 15352), (93, 16887), (94, 18575), (95, 20432),
    (96, 22475), (97, 24722), (98, 27194), (99, 29913), (100, 32904), (101, 36194), (102, 39813), (103, 43794),
    (104, 48173), (105, 52990), (106, 58289), (107, 64117), (108, 70528), (109, 77580), (110, 85338), (111, 93871),
    (112, 103258), (113, 113583), (114, 124941), (115, 137435), (116, 151178), (117, 166295), (118, 182924), (119, 201216),
    (120, 221337), (121, 243470), (122, 267817), (123, 294598), (124, 324057), (125, 356462), (126, 392108), (127, 431318),
    (128, 474449), (129, 521893), (130, 574082), (131, 631490), (132, 694639), (133, 764102), (134, 840512), (135, 924563),
    (136, 1017019), (137, 1118720), (138, 1230592), (139, 1353651), (140, 1489016), (141, 1637917), (142, 1801708), (143, 1981878),
    (144, 2180065), (145, 2398071), (146, 2637878), (147, 2901665), (148, 3191831), (149, 3511014), (150, 3862115), (151, 4248326),
    (152, 4673158), (153, 5140473), (154, 5654520), (155, 6219972), (156, 6841969), (157, 7526165), (158, 8278781), (159, 9106659),
    (160, 10017324), (161, 11019056), (162, 12120961), (163, 13333057), (164, 14666362), (165, 16132998), (166, 17746297), (167, 19520926),
    (168, 21473018), (169, 23620319), (170, 25982350), (171, 28580585), (172, 31438643), (173, 34582507), (174, 38040757), (175, 41844832),
    (176, 46029315), (177, 50632246), (178, 55695470), (179, 61265017), (180, 67391518), (181, 74130669), (182, 81543735), (183, 89698108),
    (184, 98667918), (185, 108534709), (186, 119388179), (187, 131326996), (188, 144459695), (189, 158905664), (190, 174796230), (191, 192275853),
    (192, 211503438), (193, 232653781), (194, 255919159), (195, 281511074), (196, 309662181), (197, 340628399), (198, 374691238), (199, 412160361),
    (200, 453376397), (201, 498714036), (202, 548585439), (203, 603443982), (204, 663788380), (205, 730167218), (206, 803183939), (207, 883502332),
    (208, 971852565), (209, 1069037821), (210, 1175941603), (211, 1293535763), (212, 1422889339), (213, 1565178272), (214, 1721696099), (215, 1893865708),
    (216, 2083252278), (217, 2291577505);

-- Per UTC day, fact, thread type and agent (-1: none): `opened` (n threads created that day, by
-- the thread's last agent: a change of `threads.agent_id` moves the count), `first_response`,
-- `next_response`, `resolution` (n clocks ended that day, answered those with seconds, total
-- their seconds, measured those with a target, met), `rating` (n ratings, total their scores).
CREATE TABLE report_daily (
    day         BIGINT NOT NULL,
    fact        TEXT NOT NULL,
    thread_type SMALLINT NOT NULL,
    agent_id    BIGINT NOT NULL,
    n           BIGINT NOT NULL,
    answered    BIGINT NOT NULL,
    total       BIGINT NOT NULL,
    measured    BIGINT NOT NULL,
    met         BIGINT NOT NULL,
    PRIMARY KEY (day, fact, thread_type, agent_id)
);

-- Answered clocks' seconds per bucket: by thread type (`dim` = 'type', `key` the type; kinds
-- first_response and resolution) and by agent (`dim` = 'agent', `key` the agent or -1; kinds
-- first_response, resolution and response = first and next responses together).
CREATE TABLE report_hist (
    dim    TEXT NOT NULL,
    kind   TEXT NOT NULL,
    day    BIGINT NOT NULL,
    key    BIGINT NOT NULL,
    bucket SMALLINT NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (dim, kind, day, key, bucket)
);

-- Adds ended clocks (by id) to the rollup.
CREATE FUNCTION report_add_clocks(ids BIGINT[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_daily AS d (day, fact, thread_type, agent_id, n, answered, total, measured, met)
    SELECT c.ended_at_ms / 86400000, c.kind, c.thread_type, COALESCE(c.agent_id, -1),
           COUNT(*), COUNT(c.seconds), COALESCE(SUM(c.seconds), 0), COUNT(c.met),
           COUNT(*) FILTER (WHERE c.met)
    FROM unnest(ids) AS i (id) JOIN sla_clocks c ON c.id = i.id
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
        FROM unnest(ids) AS i (id) JOIN sla_clocks c ON c.id = i.id
        CROSS JOIN (VALUES (false, false), (true, false), (true, true)) AS v (agent, merged)
        WHERE c.ended_at_ms IS NOT NULL AND c.seconds IS NOT NULL
          AND CASE WHEN v.merged THEN c.kind <> 'resolution' ELSE c.kind <> 'next_response' END
    ) x
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (dim, kind, day, key, bucket) DO UPDATE SET n = h.n + EXCLUDED.n;
END $$;

-- Clocks stored already ended (a bulk load) and clocks ending.
CREATE FUNCTION report_clocks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids BIGINT[] := ARRAY(SELECT id FROM new_clocks WHERE ended_at_ms IS NOT NULL);
BEGIN
    IF cardinality(ids) > 0 THEN
        PERFORM report_add_clocks(ids);
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION report_clocks_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids BIGINT[] := ARRAY(SELECT n.id FROM new_clocks n JOIN old_clocks o ON o.id = n.id
                          WHERE o.ended_at_ms IS NULL AND n.ended_at_ms IS NOT NULL);
BEGIN
    IF cardinality(ids) > 0 THEN
        PERFORM report_add_clocks(ids);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER report_clocks_inserted AFTER INSERT ON sla_clocks
    REFERENCING NEW TABLE AS new_clocks FOR EACH STATEMENT EXECUTE FUNCTION report_clocks_inserted();
CREATE TRIGGER report_clocks_updated AFTER UPDATE ON sla_clocks
    REFERENCING OLD TABLE AS old_clocks NEW TABLE AS new_clocks
    FOR EACH STATEMENT EXECUTE FUNCTION report_clocks_updated();

-- Threads opened, under their agent at creation.
CREATE FUNCTION report_threads_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_daily AS d (day, fact, thread_type, agent_id, n, answered, total, measured, met)
    SELECT t.created_at_ms / 86400000, 'opened', t.thread_type, COALESCE(t.agent_id, -1),
           COUNT(*), 0, 0, 0, 0
    FROM new_threads t GROUP BY 1, 3, 4
    ON CONFLICT (day, fact, thread_type, agent_id) DO UPDATE SET n = d.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE TRIGGER report_threads_inserted AFTER INSERT ON threads
    REFERENCING NEW TABLE AS new_threads FOR EACH STATEMENT EXECUTE FUNCTION report_threads_inserted();

-- A thread's last agent changes: its opening moves to the new agent (both rows in agent order,
-- so two such moves never wait on each other crosswise).
CREATE FUNCTION report_thread_agent_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_daily AS d (day, fact, thread_type, agent_id, n, answered, total, measured, met)
    SELECT NEW.created_at_ms / 86400000, 'opened', NEW.thread_type, v.agent, v.delta, 0, 0, 0, 0
    FROM (VALUES (COALESCE(OLD.agent_id, -1), -1), (COALESCE(NEW.agent_id, -1), 1))
        AS v (agent, delta)
    ORDER BY v.agent
    ON CONFLICT (day, fact, thread_type, agent_id) DO UPDATE SET n = d.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE TRIGGER report_thread_agent_changed AFTER UPDATE OF agent_id ON threads
    FOR EACH ROW WHEN (OLD.agent_id IS DISTINCT FROM NEW.agent_id)
    EXECUTE FUNCTION report_thread_agent_changed();

-- Ratings, by their thread's type.
CREATE FUNCTION report_ratings_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_daily AS d (day, fact, thread_type, agent_id, n, answered, total, measured, met)
    SELECT r.created_at_ms / 86400000, 'rating', t.thread_type, COALESCE(r.agent_id, -1),
           COUNT(*), 0, SUM(r.score), 0, 0
    FROM new_ratings r JOIN threads t ON t.id = r.thread_id GROUP BY 1, 3, 4
    ON CONFLICT (day, fact, thread_type, agent_id) DO UPDATE
        SET n = d.n + EXCLUDED.n, total = d.total + EXCLUDED.total;
    RETURN NULL;
END $$;
CREATE TRIGGER report_ratings_inserted AFTER INSERT ON ratings
    REFERENCING NEW TABLE AS new_ratings FOR EACH STATEMENT EXECUTE FUNCTION report_ratings_inserted();

-- Backfill from what is stored.
INSERT INTO report_daily (day, fact, thread_type, agent_id, n, answered, total, measured, met)
SELECT created_at_ms / 86400000, 'opened', thread_type, COALESCE(agent_id, -1), COUNT(*), 0, 0, 0, 0
FROM threads GROUP BY 1, 3, 4;
INSERT INTO report_daily (day, fact, thread_type, agent_id, n, answered, total, measured, met)
SELECT r.created_at_ms / 86400000, 'rating', t.thread_type, COALESCE(r.agent_id, -1),
       COUNT(*), 0, SUM(r.score), 0, 0
FROM ratings r JOIN threads t ON t.id = r.thread_id GROUP BY 1, 3, 4;
SELECT report_add_clocks(ARRAY(SELECT id FROM sla_clocks WHERE ended_at_ms IS NOT NULL));
