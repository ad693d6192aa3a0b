import FerryStore
import GRDB

/// Tables for data pipelines (migration "v2-pipelines"): definitions, runs, the invalidation log,
/// and a key on sink documents so a duplicate `_id` is found through an index.
enum SQLitePipelineSchema {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2-pipelines") { db in
            try db.execute(
                sql: """
                    CREATE TABLE pipelines (
                        id TEXT PRIMARY KEY NOT NULL,
                        organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                        name TEXT NOT NULL,
                        schedule TEXT NOT NULL,
                        stages BLOB NOT NULL,
                        enable_backfill INTEGER NOT NULL,
                        source_type TEXT NOT NULL,
                        source_pipeline_id TEXT,
                        enabled INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        scheduled_through INTEGER NOT NULL,
                        backfill_cursor INTEGER,
                        backfill_floor INTEGER,
                        backfill_next_at INTEGER,
                        invalidation_cursor INTEGER NOT NULL,
                        revision INTEGER NOT NULL,
                        UNIQUE (organization_id, name)
                    );

                    -- seq: creation order, for listings and paging; id: the stable run UUID.
                    CREATE TABLE pipeline_runs (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        pipeline_id TEXT NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
                        organization_id TEXT NOT NULL,
                        window_start INTEGER NOT NULL,
                        window_end INTEGER NOT NULL,
                        status TEXT NOT NULL CHECK (status IN ('SCHEDULED', 'STARTED', 'COMPLETED', 'FAILED')),
                        kind TEXT NOT NULL,
                        not_before INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        started_at INTEGER,
                        ended_at INTEGER,
                        error_message TEXT,
                        output_count INTEGER
                    );
                    CREATE INDEX pipeline_runs_by_pipeline ON pipeline_runs(pipeline_id, seq);
                    CREATE INDEX pipeline_runs_by_window ON pipeline_runs(pipeline_id, window_start);
                    CREATE INDEX pipeline_runs_active ON pipeline_runs(status) WHERE status IN ('SCHEDULED', 'STARTED');

                    -- Newly stored data per organisation and source, as time ranges [range_start, range_end):
                    -- written in the same transaction as the data, so a crash cannot lose one.
                    -- AUTOINCREMENT: ids are never reused, so a pipeline's cursor into the log stays valid.
                    CREATE TABLE pipeline_invalidations (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        organization_id TEXT NOT NULL,
                        source TEXT NOT NULL,
                        range_start INTEGER NOT NULL,
                        range_end INTEGER NOT NULL
                    );
                    CREATE INDEX pipeline_invalidations_by_source ON pipeline_invalidations(organization_id, source, id);

                    ALTER TABLE sink_documents ADD COLUMN doc_key BLOB;
                    CREATE INDEX sink_documents_by_key ON sink_documents(organization_id, pipeline_id, doc_key)
                        WHERE doc_key IS NOT NULL;
                    """)
        }
    }
}
