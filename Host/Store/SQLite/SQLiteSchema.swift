import FerryStore
import GRDB

/// The SQLite schema, as GRDB migrations so that later versions can evolve it in place.
///
/// Times are integer milliseconds UTC, declared `TIMESTAMP_MS` (NUMERIC affinity keeps integers as
/// integers) so that the SQL sandbox can recognise a time column in a result by its declared type
/// and return it as a BSON date. Reading documents are BSON blobs: they decode ~4x faster than JSON
/// for MQL, which reads every row; the SQL sandbox presents them as JSON text.
enum SQLiteSchema {
    static let readingColumns = """
        organization_id TEXT NOT NULL,
        location_id TEXT NOT NULL,
        robot_id TEXT NOT NULL,
        part_id TEXT NOT NULL,
        component_type TEXT NOT NULL,
        component_name TEXT NOT NULL,
        method_name TEXT NOT NULL,
        time_requested TIMESTAMP_MS NOT NULL,
        time_received TIMESTAMP_MS NOT NULL,
        tags TEXT NOT NULL,
        additional_parameters BLOB NOT NULL,
        data BLOB NOT NULL
        """

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE organizations (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    CREATE TABLE api_keys (
                        id TEXT PRIMARY KEY NOT NULL,
                        organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                        role TEXT NOT NULL CHECK (role IN ('owner', 'operator', 'viewer')),
                        name TEXT NOT NULL,
                        secret_hash TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        revoked_at INTEGER
                    );
                    CREATE INDEX api_keys_by_organization ON api_keys(organization_id);

                    -- Every reading. id is the rowid: insertion order, and the keyset-paging tie-breaker.
                    CREATE TABLE readings (
                        id INTEGER PRIMARY KEY,
                        \(readingColumns)
                    );
                    CREATE INDEX readings_by_time ON readings(organization_id, time_received);
                    CREATE INDEX readings_by_component ON readings(organization_id, component_name, time_received);
                    CREATE INDEX readings_by_robot ON readings(organization_id, robot_id, time_received);

                    -- A copy of recent readings (same id), pruned by age. Clustered on its one access
                    -- path, so a copy costs one b-tree insert rather than a row plus indexes.
                    CREATE TABLE hot_readings (
                        id INTEGER NOT NULL,
                        \(readingColumns),
                        PRIMARY KEY (organization_id, time_received, id)
                    ) WITHOUT ROWID;

                    -- Record ranges [first, last) of each uploaded capture file already applied.
                    CREATE TABLE ingest_ranges (
                        organization_id TEXT NOT NULL,
                        file_id TEXT NOT NULL,
                        first_record INTEGER NOT NULL,
                        last_record INTEGER NOT NULL,
                        PRIMARY KEY (organization_id, file_id, first_record)
                    ) WITHOUT ROWID;

                    CREATE TABLE binary_data (
                        id TEXT PRIMARY KEY NOT NULL,
                        organization_id TEXT NOT NULL,
                        location_id TEXT NOT NULL,
                        robot_id TEXT NOT NULL,
                        part_id TEXT NOT NULL,
                        component_type TEXT NOT NULL,
                        component_name TEXT NOT NULL,
                        method_name TEXT NOT NULL,
                        file_id TEXT NOT NULL,
                        file_name TEXT NOT NULL,
                        file_extension TEXT NOT NULL,
                        mime_type TEXT NOT NULL,
                        size INTEGER NOT NULL,
                        sha256 TEXT NOT NULL,
                        time_requested TIMESTAMP_MS NOT NULL,
                        time_received TIMESTAMP_MS NOT NULL,
                        tags TEXT NOT NULL,
                        path TEXT NOT NULL,
                        UNIQUE (organization_id, file_id)
                    );
                    CREATE INDEX binary_data_by_time ON binary_data(organization_id, time_received);

                    -- Pipeline results, one row per document, grouped by the window that produced them.
                    CREATE TABLE sink_documents (
                        id INTEGER PRIMARY KEY,
                        organization_id TEXT NOT NULL,
                        pipeline_id TEXT NOT NULL,
                        window_start TIMESTAMP_MS NOT NULL,
                        window_end TIMESTAMP_MS NOT NULL,
                        run_id TEXT NOT NULL,
                        position INTEGER NOT NULL,
                        document BLOB NOT NULL
                    );
                    CREATE INDEX sink_documents_by_window ON sink_documents(organization_id, pipeline_id, window_start);

                    CREATE TABLE store_meta (
                        key TEXT PRIMARY KEY NOT NULL,
                        value
                    );
                    """)
        }
        SQLitePipelineSchema.register(in: &migrator)
        migrator.registerMigration("v3-machine-keys") { db in
            // A key may belong to one machine in one location; its uploads carry both ids.
            try db.execute(
                sql: """
                    ALTER TABLE api_keys ADD COLUMN location_id TEXT NOT NULL DEFAULT '';
                    ALTER TABLE api_keys ADD COLUMN robot_id TEXT NOT NULL DEFAULT '';
                    """)
        }
        migrator.registerMigration("v4-run-retention") { db in
            // Run history is pruned by age once a minute; this keeps that from scanning every run.
            try db.execute(
                sql: """
                    CREATE INDEX pipeline_runs_finished ON pipeline_runs(ended_at) WHERE status IN ('COMPLETED', 'FAILED');
                    """)
        }
        migrator.registerMigration("v5-binary-annotations") { db in
            // A vision service's detections and classifications, kept with the image they are about
            // (relaxed Extended JSON of {bboxes, classifications}); NULL for payloads without any.
            try db.execute(sql: "ALTER TABLE binary_data ADD COLUMN annotations TEXT")
        }
        migrator.registerMigration("v6-database-users") { db in
            // One MongoDB database user per organisation: its SCRAM-SHA-256 verifier, never the password.
            try db.execute(
                sql: """
                    CREATE TABLE database_users (
                        organization_id TEXT PRIMARY KEY NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                        salt BLOB NOT NULL,
                        iterations INTEGER NOT NULL,
                        stored_key BLOB NOT NULL,
                        server_key BLOB NOT NULL,
                        may_insert INTEGER NOT NULL DEFAULT 0,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v7-binary-by-capture-time") { db in
            // Binary data is browsed page by page in (time_requested, id) order.
            try db.execute(sql: "CREATE INDEX binary_data_by_capture ON binary_data(organization_id, time_requested, id)")
        }
        migrator.registerMigration("v8-datasets") { db in
            // Named collections of an organisation's payloads. A membership goes with its dataset or
            // its payload (foreign keys are on: GRDB enables them), never the payload with the dataset.
            try db.execute(
                sql: """
                    CREATE TABLE datasets (
                        id TEXT PRIMARY KEY NOT NULL,
                        organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                        name TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        UNIQUE (organization_id, name)
                    );
                    CREATE TABLE dataset_members (
                        dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
                        binary_id TEXT NOT NULL REFERENCES binary_data(id) ON DELETE CASCADE,
                        PRIMARY KEY (dataset_id, binary_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX dataset_members_by_binary ON dataset_members(binary_id);
                    """)
        }
        migrator.registerMigration("v9-retention-policies") { db in
            // Each resource's retention policy, as the latest upload carrying one set it; NULL: no limit.
            try db.execute(
                sql: """
                    CREATE TABLE retention_policies (
                        organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                        part_id TEXT NOT NULL,
                        component_name TEXT NOT NULL,
                        method_name TEXT NOT NULL,
                        days INTEGER,
                        binary_limit_bytes INTEGER,
                        tabular_limit_bytes INTEGER,
                        PRIMARY KEY (organization_id, part_id, component_name, method_name)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v10-data-indexes") { db in
            // Each organisation's custom indexes (MongoDB index documents) and the physical
            // expression index each one uses: shared by every organisation on the same paths.
            // pipeline_id is '' for the hot store (readings).
            try db.execute(
                sql: """
                    CREATE TABLE data_indexes (
                        organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                        pipeline_id TEXT NOT NULL DEFAULT '',
                        name TEXT NOT NULL,
                        spec TEXT NOT NULL,
                        physical TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (organization_id, pipeline_id, name)
                    ) WITHOUT ROWID;
                    CREATE INDEX data_indexes_by_physical ON data_indexes(physical);
                    """)
        }
        migrator.registerMigration("v11-saved-queries") { db in
            // Named MQL pipelines; stages as canonical Extended JSON of an array of documents.
            try db.execute(
                sql: """
                    CREATE TABLE saved_queries (
                        id TEXT PRIMARY KEY NOT NULL,
                        organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                        name TEXT NOT NULL,
                        stages TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        UNIQUE (organization_id, name)
                    );
                    """)
        }
        migrator.registerMigration("v12-hot-storage-pending") { db in
            // Id ranges of committed ingests whose hot-storage copies are not made yet.
            try db.execute(sql: "CREATE TABLE hot_pending (first_id INTEGER NOT NULL, last_id INTEGER NOT NULL)")
        }
        return migrator
    }
}
