/// Server-side functions, re-created (`CREATE OR REPLACE`) when their text changes. Ingest is one
/// function so that a batch costs one round trip and one transaction: the idempotency record, the
/// rows, the invalidation log and the wake-up notification commit together.
enum PostgresFunctions {
    /// Lock keys (`pg_advisory_xact_lock`) for what must be serialised across replicas.
    enum Lock: Int64 {
        /// Attaching a month's partition.
        case partitions = 7_460_001
        /// Appending to the invalidation log, so ids are committed in id order and a reader that
        /// has seen id n never misses an entry below n that commits later.
        case invalidationLog = 7_460_002
        /// Migrating the schema.
        case migrations = 7_460_003
        /// Creating and dropping the shared physical indexes of custom indexes.
        case dataIndexes = 7_460_004
    }

    /// The advisory lock key of an organisation's chart hours (`chart_hours`), as SQL: writers of
    /// its readings hold it shared from before they forget hours until they commit, the chart
    /// holds it exclusively while it makes hours. So an hour made from a snapshot that misses a
    /// write is always forgotten by that write: either the maker waited for the write to commit
    /// (and its snapshot has it), or the write waited for the maker (and then sees its rows).
    static func chartLockKey(_ organization: String) -> String {
        "hashtextextended('ferry-chart/' || \(organization), 0)"
    }

    static let sql = """
        -- The partition of readings for the month holding `t`, attached if missing.
        CREATE OR REPLACE FUNCTION ferry_readings_partition(t timestamptz) RETURNS void LANGUAGE plpgsql AS $fn$
        DECLARE
            month_start timestamp := date_trunc('month', t AT TIME ZONE 'UTC');
            name text;
        BEGIN
            IF month_start < timestamp '1970-01-01' OR month_start >= timestamp '2200-01-01' THEN RETURN; END IF;
            name := 'readings_' || to_char(month_start, 'YYYY_MM');
            IF to_regclass(name) IS NOT NULL THEN RETURN; END IF;
            PERFORM pg_advisory_xact_lock(\(Lock.partitions.rawValue));
            IF to_regclass(name) IS NOT NULL THEN RETURN; END IF;
            -- ATTACH (a SHARE UPDATE EXCLUSIVE lock) rather than CREATE … PARTITION OF (ACCESS
            -- EXCLUSIVE), so queries and other ingests go on while a month is added.
            -- In a block of its own: entering one costs a subtransaction, paid only here.
            BEGIN
                EXECUTE format('CREATE TABLE %I (LIKE readings INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
                EXECUTE format('ALTER TABLE readings ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name,
                    month_start AT TIME ZONE 'UTC', (month_start + interval '1 month') AT TIME ZONE 'UTC');
            EXCEPTION WHEN duplicate_table THEN
                -- Another transaction attached it while this one waited for the lock: an advisory
                -- lock does not refresh the catalog cache, so the second look above can miss it.
                NULL;
            END;
        END
        $fn$;

        -- Log [start, end) of newly stored data for the pipelines with backfill that read `source`.
        CREATE OR REPLACE FUNCTION ferry_log_invalidation(org text, source text, range_start bigint, range_end bigint)
        RETURNS void LANGUAGE plpgsql AS $fn$
        BEGIN
            PERFORM pg_advisory_xact_lock(\(Lock.invalidationLog.rawValue));
            INSERT INTO pipeline_invalidations (organization_id, source, range_start, range_end)
                VALUES (org, source, range_start, range_end);
        END
        $fn$;

        -- Whether any pipeline with backfill reads `source` of `org` (nobody else reads the log).
        CREATE OR REPLACE FUNCTION ferry_log_wanted(org text, source text) RETURNS boolean LANGUAGE sql STABLE AS $fn$
            SELECT EXISTS (
                SELECT 1 FROM pipelines p WHERE p.organization_id = org AND p.enable_backfill
                AND CASE WHEN source = 'readings' THEN p.source_type IN ('standard', 'hot_storage')
                    ELSE p.source_type = 'pipeline_sink' AND 'sink:' || p.source_pipeline_id = source END)
        $fn$;

        -- Replaces the results of the windows overlapping [p_start, p_end) with the documents (BSON,
        -- with each one's _id key, or an empty key for none). A key another window of the pipeline
        -- already holds is refused (SQLSTATE FE001, message "<index> <start> <end>" of the clash).
        -- p_json holds each document as jsonb text (for custom indexes on the sink).
        DROP FUNCTION IF EXISTS ferry_write_window(text, text, text, bigint, bigint, bytea[], bytea[]);
        CREATE OR REPLACE FUNCTION ferry_write_window(
            p_org text, p_pipeline text, p_run text, p_start bigint, p_end bigint, p_documents bytea[], p_keys bytea[], p_json text[]
        ) RETURNS void LANGUAGE plpgsql AS $fn$
        DECLARE
            clash record;
        BEGIN
            DELETE FROM sink_documents
            WHERE organization_id = p_org AND pipeline_id = p_pipeline AND window_start < p_end AND window_end > p_start;
            SELECT k.n - 1 AS position, s.window_start, s.window_end INTO clash
            FROM unnest(p_keys) WITH ORDINALITY AS k(key, n)
            JOIN sink_documents s ON s.organization_id = p_org AND s.pipeline_id = p_pipeline AND s.doc_key = k.key
            WHERE k.key <> ''::bytea LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION USING ERRCODE = 'FE001', MESSAGE = clash.position || ' ' || clash.window_start || ' ' || clash.window_end;
            END IF;
            INSERT INTO sink_documents (organization_id, pipeline_id, window_start, window_end, run_id, position, document, doc_key, data)
            SELECT p_org, p_pipeline, p_start, p_end, p_run, u.n - 1, u.d, NULLIF(u.k, ''::bytea), u.j::jsonb
            FROM unnest(p_documents, p_keys, p_json) WITH ORDINALITY AS u(d, k, j, n);
        END
        $fn$;

        -- STARTED -> COMPLETED with the run's results, and the log entry for pipelines reading this
        -- sink, in one transaction; false (nothing written) if the run is no longer STARTED.
        DROP FUNCTION IF EXISTS ferry_complete_run(text, bigint, bytea[], bytea[]);
        CREATE OR REPLACE FUNCTION ferry_complete_run(p_run text, p_now bigint, p_documents bytea[], p_keys bytea[], p_json text[])
        RETURNS boolean LANGUAGE plpgsql AS $fn$
        DECLARE
            run record;
            source text;
        BEGIN
            SELECT * INTO run FROM pipeline_runs WHERE id = p_run FOR UPDATE;
            IF NOT FOUND OR run.status <> 'STARTED' THEN RETURN false; END IF;
            PERFORM ferry_write_window(run.organization_id, run.pipeline_id, run.id, run.window_start, run.window_end,
                p_documents, p_keys, p_json);
            UPDATE pipeline_runs SET status = 'COMPLETED', ended_at = p_now, output_count = cardinality(p_documents)
            WHERE id = p_run;
            source := 'sink:' || run.pipeline_id;
            IF ferry_log_wanted(run.organization_id, source) THEN
                PERFORM ferry_log_invalidation(run.organization_id, source, run.window_start, run.window_start + 1);
                PERFORM pg_notify('ferry_pipelines', source);
            END IF;
            RETURN true;
        END
        $fn$;

        -- Forgets the chart hours (chart_hours, any field) of the hours of time received `p_times`
        -- of the organisations `p_orgs` (pairwise), as their readings change: under each
        -- organisation's chart lock, shared (see PostgresFunctions.chartLockKey), taken here
        -- before the deletes' snapshots. Volatile, so each statement sees what committed before it.
        CREATE OR REPLACE FUNCTION ferry_chart_forget(p_orgs text[], p_times timestamptz[]) RETURNS void LANGUAGE plpgsql AS $fn$
        DECLARE
            first_ms bigint;
            last_ms bigint;
        BEGIN
            PERFORM pg_advisory_xact_lock_shared(\(chartLockKey("o"))) FROM (SELECT DISTINCT o FROM unnest(p_orgs) AS o ORDER BY o) AS orgs;
            -- Mostly there is nothing to forget (live data lands in the hour being written, which
            -- no chart has made yet): a look at the times' range saves working out their hours.
            SELECT round(date_part('epoch', min(t)) * 1000)::bigint, round(date_part('epoch', max(t)) * 1000)::bigint
                INTO first_ms, last_ms FROM unnest(p_times) AS t;
            IF first_ms IS NULL OR NOT EXISTS (
                SELECT 1 FROM chart_hours_built WHERE organization_id = ANY(p_orgs)
                AND hour_start > first_ms - 3600000 AND hour_start <= last_ms
            ) THEN
                RETURN;
            END IF;
            WITH hours AS (
                SELECT DISTINCT o, h - ((h % 3600000) + 3600000) % 3600000 AS hour
                FROM (SELECT o, round(date_part('epoch', t) * 1000)::bigint AS h FROM unnest(p_orgs, p_times) AS u(o, t)) AS ms
            ), gone AS (
                DELETE FROM chart_hours c USING hours WHERE c.organization_id = hours.o AND c.hour_start = hours.hour
            )
            DELETE FROM chart_hours_built b USING hours WHERE b.organization_id = hours.o AND b.hour_start = hours.hour;
        END
        $fn$;

        -- Ends a batch of runs (the i-th run's documents are p_documents[p_firsts[i] : p_firsts[i] +
        -- p_counts[i] - 1], likewise keys and json), each as ferry_complete_run or, with p_failed[i],
        -- as a failure with p_messages[i]. Returns per run 'completed', 'failed', 'inactive' (no longer
        -- active: nothing written) or 'clash <index> <start> <end>': a result _id another window holds,
        -- found before anything of that run is written, so the rest of the batch commits without a
        -- subtransaction per run.
        CREATE OR REPLACE FUNCTION ferry_finish_runs(
            p_now bigint, p_runs text[], p_failed boolean[], p_messages text[], p_firsts int[], p_counts int[],
            p_documents bytea[], p_keys bytea[], p_json text[]
        ) RETURNS text[] LANGUAGE plpgsql AS $fn$
        DECLARE
            run record;
            clash record;
            source text;
            last int;
            outcome text[] := '{}';
        BEGIN
            FOR i IN 1 .. coalesce(cardinality(p_runs), 0) LOOP
                IF p_failed[i] THEN
                    UPDATE pipeline_runs SET status = 'FAILED', ended_at = p_now, error_message = p_messages[i]
                    WHERE id = p_runs[i] AND status IN ('SCHEDULED', 'STARTED');
                    outcome := array_append(outcome, CASE WHEN FOUND THEN 'failed' ELSE 'inactive' END);
                    CONTINUE;
                END IF;
                SELECT * INTO run FROM pipeline_runs WHERE id = p_runs[i] FOR UPDATE;
                IF NOT FOUND OR run.status <> 'STARTED' THEN
                    outcome := array_append(outcome, 'inactive');
                    CONTINUE;
                END IF;
                last := p_firsts[i] + p_counts[i] - 1;
                -- The windows this one replaces do not count as holding a key.
                SELECT k.n - 1 AS position, s.window_start, s.window_end INTO clash
                FROM unnest(p_keys[p_firsts[i]:last]) WITH ORDINALITY AS k(key, n)
                JOIN sink_documents s ON s.organization_id = run.organization_id AND s.pipeline_id = run.pipeline_id
                    AND s.doc_key = k.key
                WHERE k.key <> ''::bytea AND NOT (s.window_start < run.window_end AND s.window_end > run.window_start)
                LIMIT 1;
                IF FOUND THEN
                    outcome := array_append(outcome, 'clash ' || clash.position || ' ' || clash.window_start || ' ' || clash.window_end);
                    CONTINUE;
                END IF;
                PERFORM ferry_write_window(run.organization_id, run.pipeline_id, run.id, run.window_start, run.window_end,
                    p_documents[p_firsts[i]:last], p_keys[p_firsts[i]:last], p_json[p_firsts[i]:last]);
                UPDATE pipeline_runs SET status = 'COMPLETED', ended_at = p_now, output_count = p_counts[i] WHERE id = run.id;
                source := 'sink:' || run.pipeline_id;
                IF ferry_log_wanted(run.organization_id, source) THEN
                    PERFORM ferry_log_invalidation(run.organization_id, source, run.window_start, run.window_start + 1);
                    PERFORM pg_notify('ferry_pipelines', source);
                END IF;
                outcome := array_append(outcome, 'completed');
            END LOOP;
            RETURN outcome;
        END
        $fn$;

        -- One upload batch. With a file id, the records of [p_first, p_last) already applied are
        -- skipped (a per-file lock orders concurrent retries). Returns the rows stored.
        CREATE OR REPLACE FUNCTION ferry_ingest(
            p_org text, p_file text, p_first bigint, p_last bigint,
            p_orgs text[], p_locations text[], p_robots text[], p_parts text[], p_types text[], p_components text[],
            p_methods text[], p_requested timestamptz[], p_received timestamptz[], p_tags text[], p_parameters text[],
            p_data text[], p_parameters_bson bytea[], p_data_bson bytea[]
        ) RETURNS bigint LANGUAGE plpgsql AS $fn$
        DECLARE
            missing text;
            month timestamptz;
            stored bigint;
            logged bigint;
        BEGIN
            SELECT o INTO missing FROM unnest(p_orgs) AS o WHERE NOT EXISTS (SELECT 1 FROM organizations WHERE id = o) LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = missing;
            END IF;
            IF p_file IS NOT NULL THEN
                PERFORM pg_advisory_xact_lock(hashtextextended(p_org || '/' || p_file, 0));
            END IF;
            -- The batch's hours of charts are out of date (before the partition lock, so a chart
            -- making hours never waits on this batch while it waits on the chart).
            PERFORM ferry_chart_forget(p_orgs, p_received);
            FOR month IN SELECT DISTINCT date_trunc('month', r AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM unnest(p_received) AS r LOOP
                PERFORM ferry_readings_partition(month);
            END LOOP;

            WITH batch AS (
                SELECT u.*, u.n - 1 AS batch_offset FROM unnest(p_orgs, p_locations, p_robots, p_parts, p_types,
                    p_components, p_methods, p_requested, p_received, p_tags, p_parameters, p_data, p_parameters_bson,
                    p_data_bson) WITH ORDINALITY AS u(o, l, ro, pa, ct, cn, m, tq, tr, tg, ap, d, apb, db, n)
            ), fresh AS (
                SELECT * FROM batch b WHERE p_file IS NULL OR NOT EXISTS (
                    SELECT 1 FROM ingest_ranges i
                    WHERE i.organization_id = p_org AND i.file_id = p_file
                    AND p_first + b.batch_offset >= i.first_record AND p_first + b.batch_offset < i.last_record)
            ), inserted AS (
                INSERT INTO readings (organization_id, location_id, robot_id, part_id, component_type, component_name,
                    method_name, time_requested, time_received, tags, additional_parameters, data,
                    additional_parameters_bson, data_bson)
                SELECT o, l, ro, pa, ct, cn, m, tq, tr, tg::jsonb, ap::jsonb, d::jsonb, apb, db FROM fresh ORDER BY n
                RETURNING organization_id, time_received
            ), minutes AS (
                SELECT DISTINCT organization_id,
                    floor(extract(epoch FROM time_received AT TIME ZONE 'UTC') / 60)::bigint AS minute FROM inserted
            ), islands AS (
                -- Consecutive minutes become one entry (gaps and islands).
                SELECT organization_id, min(minute) AS first_minute, max(minute) + 1 AS end_minute FROM (
                    SELECT organization_id, minute, minute - dense_rank() OVER (PARTITION BY organization_id ORDER BY minute) AS island
                    FROM minutes) g
                GROUP BY organization_id, island
            ), logged AS (
                -- Oldest first, as a reader of the log expects.
                SELECT ferry_log_invalidation(organization_id, 'readings', first_minute * 60000, end_minute * 60000)
                FROM (SELECT * FROM islands ORDER BY organization_id, first_minute) ordered
                WHERE ferry_log_wanted(organization_id, 'readings')
            )
            SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM logged) INTO stored, logged;

            IF p_file IS NOT NULL AND p_last > p_first THEN
                WITH gone AS (
                    DELETE FROM ingest_ranges i WHERE i.organization_id = p_org AND i.file_id = p_file
                    AND i.first_record <= p_last AND i.last_record >= p_first
                    RETURNING i.first_record, i.last_record
                )
                INSERT INTO ingest_ranges (organization_id, file_id, first_record, last_record)
                SELECT p_org, p_file, least(p_first, min(gone.first_record)), greatest(p_last, max(gone.last_record)) FROM gone;
            END IF;
            IF logged > 0 THEN
                PERFORM pg_notify('ferry_pipelines', 'readings');
            END IF;
            RETURN stored;
        END
        $fn$;
        """
}
