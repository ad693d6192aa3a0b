import FerryBSON
import FerryStore
import PostgresNIO

/// The PostgreSQL schema: versioned migrations for tables (applied once each, in order, recorded in
/// `ferry_migrations`), then the functions, re-created whenever their text changes. Both run under
/// an advisory lock, so replicas starting together migrate once.
///
/// Readings are partitioned by month of `time_received` (declarative range partitioning; a
/// partition is attached when a batch first reaches its month, under an advisory lock). Times of
/// readings are `timestamptz`, so SQL queries filter them naturally and through the indexes; the
/// other tables keep integer milliseconds, as the store's records do. Each reading keeps its
/// documents twice: as `jsonb` for SQL, and as the uploaded BSON, which MQL reads back exactly
/// (`jsonb` reorders keys and has one number type).
enum PostgresSchema {
    struct Migration {
        var name: String
        var sql: String
        /// Runs after `sql`, in the same transaction: for what only Swift can compute (BSON).
        var fill: (@Sendable (PostgresConnection, Logger) async throws -> Void)? = nil
    }

    static let migrations: [Migration] = [
        Migration(
            name: "v1-core",
            sql: """
                CREATE TABLE organizations (
                    id text PRIMARY KEY,
                    name text NOT NULL,
                    created_at bigint NOT NULL
                );
                CREATE TABLE api_keys (
                    id text PRIMARY KEY,
                    organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    role text NOT NULL CHECK (role IN ('owner', 'operator', 'viewer')),
                    name text NOT NULL,
                    secret_hash text NOT NULL,
                    created_at bigint NOT NULL,
                    revoked_at bigint,
                    location_id text NOT NULL DEFAULT '',
                    robot_id text NOT NULL DEFAULT ''
                );
                CREATE INDEX api_keys_by_organization ON api_keys (organization_id);

                -- What every replica must agree on: the token signing key, hot storage's cutoff.
                CREATE TABLE store_meta (
                    key text PRIMARY KEY,
                    value text NOT NULL
                );

                -- id: insertion order, the keyset-paging tie-breaker.
                CREATE SEQUENCE readings_id_seq AS bigint;
                CREATE TABLE readings (
                    id bigint NOT NULL DEFAULT nextval('readings_id_seq'),
                    organization_id text NOT NULL,
                    location_id text NOT NULL,
                    robot_id text NOT NULL,
                    part_id text NOT NULL,
                    component_type text NOT NULL,
                    component_name text NOT NULL,
                    method_name text NOT NULL,
                    time_requested timestamptz NOT NULL,
                    time_received timestamptz NOT NULL,
                    tags jsonb NOT NULL,
                    additional_parameters jsonb NOT NULL,
                    data jsonb NOT NULL,
                    additional_parameters_bson bytea NOT NULL,
                    data_bson bytea NOT NULL,
                    PRIMARY KEY (organization_id, time_received, id)
                ) PARTITION BY RANGE (time_received);
                ALTER SEQUENCE readings_id_seq OWNED BY readings.id;
                CREATE INDEX readings_by_component ON readings (organization_id, component_name, time_received);
                CREATE INDEX readings_by_robot ON readings (organization_id, robot_id, time_received);
                -- Months get their own partitions; these two catch the far past and future.
                CREATE TABLE readings_before_1970 PARTITION OF readings FOR VALUES FROM (MINVALUE) TO ('1970-01-01 00:00:00+00');
                CREATE TABLE readings_from_2200 PARTITION OF readings FOR VALUES FROM ('2200-01-01 00:00:00+00') TO (MAXVALUE);

                -- Record ranges [first, last) of each uploaded capture file already applied.
                CREATE TABLE ingest_ranges (
                    organization_id text NOT NULL,
                    file_id text NOT NULL,
                    first_record bigint NOT NULL,
                    last_record bigint NOT NULL,
                    PRIMARY KEY (organization_id, file_id, first_record)
                );

                -- Payloads live here too, so any replica serves any payload.
                CREATE TABLE binary_data (
                    id text PRIMARY KEY,
                    organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    location_id text NOT NULL,
                    robot_id text NOT NULL,
                    part_id text NOT NULL,
                    component_type text NOT NULL,
                    component_name text NOT NULL,
                    method_name text NOT NULL,
                    file_id text NOT NULL,
                    file_name text NOT NULL,
                    file_extension text NOT NULL,
                    mime_type text NOT NULL,
                    size bigint NOT NULL,
                    sha256 text NOT NULL,
                    time_requested bigint NOT NULL,
                    time_received bigint NOT NULL,
                    tags jsonb NOT NULL,
                    payload bytea NOT NULL,
                    UNIQUE (organization_id, file_id)
                );

                CREATE TABLE sink_documents (
                    id bigserial PRIMARY KEY,
                    organization_id text NOT NULL,
                    pipeline_id text NOT NULL,
                    window_start bigint NOT NULL,
                    window_end bigint NOT NULL,
                    run_id text NOT NULL,
                    position integer NOT NULL,
                    document bytea NOT NULL,
                    doc_key bytea
                );
                CREATE INDEX sink_documents_by_window ON sink_documents (organization_id, pipeline_id, window_start);
                CREATE INDEX sink_documents_by_key ON sink_documents (organization_id, pipeline_id, doc_key) WHERE doc_key IS NOT NULL;
                """),
        Migration(
            name: "v2-pipelines",
            sql: """
                CREATE TABLE pipelines (
                    id text PRIMARY KEY,
                    organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    name text NOT NULL,
                    schedule text NOT NULL,
                    stages bytea NOT NULL,
                    enable_backfill boolean NOT NULL,
                    source_type text NOT NULL,
                    source_pipeline_id text,
                    enabled boolean NOT NULL,
                    created_at bigint NOT NULL,
                    updated_at bigint NOT NULL,
                    scheduled_through bigint NOT NULL,
                    backfill_cursor bigint,
                    backfill_floor bigint,
                    backfill_next_at bigint,
                    invalidation_cursor bigint NOT NULL,
                    revision bigint NOT NULL,
                    UNIQUE (organization_id, name)
                );

                -- seq: creation order, for listings and paging; id: the stable run UUID.
                CREATE TABLE pipeline_runs (
                    seq bigserial PRIMARY KEY,
                    id text NOT NULL UNIQUE,
                    pipeline_id text NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
                    organization_id text NOT NULL,
                    window_start bigint NOT NULL,
                    window_end bigint NOT NULL,
                    status text NOT NULL CHECK (status IN ('SCHEDULED', 'STARTED', 'COMPLETED', 'FAILED')),
                    kind text NOT NULL,
                    not_before bigint NOT NULL,
                    created_at bigint NOT NULL,
                    started_at bigint,
                    ended_at bigint,
                    error_message text,
                    output_count integer
                );
                CREATE INDEX pipeline_runs_by_pipeline ON pipeline_runs (pipeline_id, seq);
                CREATE INDEX pipeline_runs_by_window ON pipeline_runs (pipeline_id, window_start);
                CREATE INDEX pipeline_runs_active ON pipeline_runs (status) WHERE status IN ('SCHEDULED', 'STARTED');
                CREATE INDEX pipeline_runs_finished ON pipeline_runs (ended_at) WHERE status IN ('COMPLETED', 'FAILED');

                -- Newly stored data per organisation and source as time ranges [range_start, range_end),
                -- written in the data's own transaction. Ids come from a sequence: never reused.
                CREATE TABLE pipeline_invalidations (
                    id bigserial PRIMARY KEY,
                    organization_id text NOT NULL,
                    source text NOT NULL,
                    range_start bigint NOT NULL,
                    range_end bigint NOT NULL
                );
                CREATE INDEX pipeline_invalidations_by_source ON pipeline_invalidations (organization_id, source, id);
                """),
        Migration(
            name: "v3-sql-sandbox",
            sql: """
                -- TabularDataBySQL runs as a read-only login role on its own connections. These views,
                -- owned by the store's user, are all that role may read: the organisation is the one
                -- the store recorded for the querying connection (by backend pid), which that role
                -- can neither write nor forge.
                CREATE TABLE ferry_sql_scopes (
                    pid integer PRIMARY KEY,
                    organization_id text NOT NULL,
                    hot_cutoff timestamptz
                );
                CREATE SCHEMA ferry_sql;
                CREATE VIEW ferry_sql.readings WITH (security_barrier) AS
                    SELECT r.organization_id, r.location_id, r.robot_id, r.part_id, r.component_type, r.component_name,
                        r.method_name, r.time_requested, r.time_received, r.tags, r.additional_parameters, r.data
                    FROM readings r JOIN ferry_sql_scopes s ON s.pid = pg_backend_pid() AND r.organization_id = s.organization_id;
                CREATE SCHEMA ferry_sql_hot;
                CREATE VIEW ferry_sql_hot.readings WITH (security_barrier) AS
                    SELECT r.organization_id, r.location_id, r.robot_id, r.part_id, r.component_type, r.component_name,
                        r.method_name, r.time_requested, r.time_received, r.tags, r.additional_parameters, r.data
                    FROM readings r JOIN ferry_sql_scopes s ON s.pid = pg_backend_pid() AND r.organization_id = s.organization_id
                    WHERE s.hot_cutoff IS NOT NULL AND r.time_received >= s.hot_cutoff;
                """),
        Migration(
            name: "v4-binary-annotations",
            sql: """
                -- A vision service's detections on an image, as relaxed Extended JSON (as SQLite keeps them).
                ALTER TABLE binary_data ADD COLUMN annotations text;
                """),
        Migration(
            name: "v5-database-users",
            sql: """
                -- One MongoDB database user per organisation: its SCRAM-SHA-256 verifier, never the password.
                CREATE TABLE database_users (
                    organization_id text PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
                    salt bytea NOT NULL,
                    iterations bigint NOT NULL,
                    stored_key bytea NOT NULL,
                    server_key bytea NOT NULL,
                    may_insert boolean NOT NULL DEFAULT false,
                    created_at bigint NOT NULL,
                    updated_at bigint NOT NULL
                );
                """),
        Migration(
            name: "v6-binary-by-capture-time",
            sql: """
                -- Binary data is browsed page by page in (time_requested, id) order, ids in byte order.
                CREATE INDEX binary_data_by_capture ON binary_data (organization_id, time_requested, id COLLATE "C");
                """),
        Migration(
            name: "v7-datasets",
            sql: """
                -- Named collections of an organisation's payloads. A membership goes with its dataset or
                -- its payload, never the payload with the dataset.
                CREATE TABLE datasets (
                    id text PRIMARY KEY,
                    organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    name text NOT NULL,
                    created_at bigint NOT NULL,
                    UNIQUE (organization_id, name)
                );
                CREATE TABLE dataset_members (
                    dataset_id text NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
                    binary_id text NOT NULL REFERENCES binary_data(id) ON DELETE CASCADE,
                    PRIMARY KEY (dataset_id, binary_id)
                );
                CREATE INDEX dataset_members_by_binary ON dataset_members (binary_id);
                """),
        Migration(
            name: "v8-retention-policies",
            sql: """
                -- Each resource's retention policy, as the latest upload carrying one set it; NULL: no limit.
                CREATE TABLE retention_policies (
                    organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    part_id text NOT NULL,
                    component_name text NOT NULL,
                    method_name text NOT NULL,
                    days bigint,
                    binary_limit_bytes bigint,
                    tabular_limit_bytes bigint,
                    PRIMARY KEY (organization_id, part_id, component_name, method_name)
                );
                """),
        Migration(
            name: "v9-data-indexes",
            sql: """
                -- What a custom index keys a reading's data on (see DataHint): [1, n] for a number
                -- below 2^53 in magnitude, [2, s] for a string; [3] wherever only the MQL engine can
                -- tell (an array on the path or at its end, a document, which may be an Extended JSON
                -- wrapper such as NaN or a decimal, and numbers whose jsonb text may be rounded);
                -- NULL for missing, null and booleans. Expression indexes are built on it, so its
                -- body never changes: a new behaviour gets a new function.
                CREATE FUNCTION ferry_index_key(doc jsonb, path text[]) RETURNS jsonb
                LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
                DECLARE
                    v jsonb := doc;
                    segment text;
                BEGIN
                    FOREACH segment IN ARRAY path LOOP
                        IF jsonb_typeof(v) = 'array' THEN RETURN '[3]'; END IF;
                        IF jsonb_typeof(v) <> 'object' THEN RETURN NULL; END IF;
                        v := v -> segment;
                        IF v IS NULL THEN RETURN NULL; END IF;
                    END LOOP;
                    RETURN CASE jsonb_typeof(v)
                        WHEN 'number' THEN CASE WHEN abs(v::numeric) < 9007199254740992 THEN jsonb_build_array(1, v) ELSE '[3]' END
                        WHEN 'string' THEN jsonb_build_array(2, v)
                        WHEN 'array' THEN '[3]'::jsonb
                        WHEN 'object' THEN '[3]'::jsonb
                        ELSE NULL END;
                END
                $fn$;

                -- Each organisation's custom indexes (MongoDB index documents) and the physical
                -- expression index each one uses: shared by every organisation on the same paths.
                -- pipeline_id is '' for the hot store (readings).
                CREATE TABLE data_indexes (
                    organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    pipeline_id text NOT NULL DEFAULT '',
                    name text NOT NULL,
                    spec text NOT NULL,
                    physical text NOT NULL,
                    created_at bigint NOT NULL,
                    PRIMARY KEY (organization_id, pipeline_id, name)
                );
                CREATE INDEX data_indexes_by_physical ON data_indexes (physical);
                """),
        Migration(
            name: "v10-saved-queries",
            sql: """
                -- Named MQL pipelines; stages as canonical Extended JSON of an array of documents.
                CREATE TABLE saved_queries (
                    id text PRIMARY KEY,
                    organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    name text NOT NULL,
                    stages text NOT NULL,
                    created_at bigint NOT NULL,
                    updated_at bigint NOT NULL,
                    UNIQUE (organization_id, name)
                );
                """),
        Migration(
            name: "v11-sink-json",
            sql: """
                -- Sink documents as jsonb too (filled from the BSON when written), for custom
                -- indexes on a pipeline's sink: ferry_index_key(data, path) as on readings.
                ALTER TABLE sink_documents ADD COLUMN data jsonb;
                """,
            fill: { connection, logger in
                // Existing documents, converted as writes convert them, a page of 1000 at a time
                // (memory stays flat however big the sinks are).
                var after: Int64 = 0
                while true {
                    var ids: [Int64] = []
                    var json: [String] = []
                    let page = try await connection.query(
                        "SELECT id, document FROM sink_documents WHERE id > \(after) ORDER BY id LIMIT 1000", logger: logger)
                    for try await (id, bytes) in page.decode((Int64, ByteBuffer).self) {
                        ids.append(id)
                        json.append(PGJSON.text(try BSONDocument(bytes: Array(buffer: bytes))))
                    }
                    guard let last = ids.last else { return }
                    try await connection.query(
                        """
                        UPDATE sink_documents s SET data = u.j::jsonb FROM unnest(\(ids)::bigint[], \(json)::text[]) AS u(i, j)
                        WHERE s.id = u.i
                        """, logger: logger)
                    after = last
                }
            }),
        Migration(
            name: "v12-chart-hours",
            sql: """
                -- A chart's reduction per hour of time received (ms since the epoch, on the hour):
                -- the lowest and highest value of one field (path) of an organisation's readings
                -- per component, with their times, so that a year reads ~8,760 of these instead of
                -- every reading. A cache: made by the chart on first use of an hour
                -- (chart_hours_built marks the hours made, readings with no number in the field
                -- included), forgotten with that mark when readings of the hour are stored or
                -- deleted (ferry_chart_forget), never copied by store migrate.
                CREATE TABLE chart_hours_built (
                    organization_id text NOT NULL,
                    hour_start bigint NOT NULL,
                    path text[] NOT NULL,
                    PRIMARY KEY (organization_id, hour_start, path)
                );
                CREATE TABLE chart_hours (
                    organization_id text NOT NULL,
                    hour_start bigint NOT NULL,
                    path text[] NOT NULL,
                    component_name text NOT NULL,
                    count bigint NOT NULL,
                    min_value float8 NOT NULL,
                    min_time bigint NOT NULL,
                    max_value float8 NOT NULL,
                    max_time bigint NOT NULL,
                    PRIMARY KEY (organization_id, hour_start, path, component_name)
                );
                """),
    ]
}
