import FerryStore
import GRDB

extension SQLiteReadingStore {
    public func setRetentionPolicy(_ policy: RetentionPolicy?, for resource: RetentionResource) async throws {
        try StoreChecks.validate(resource: resource, policy: policy)
        let key: StatementArguments = [resource.organizationID, resource.partID, resource.componentName, resource.methodName]
        try await write("setting the retention policy of \(resource)") { db in
            guard let policy, !policy.isEmpty else {
                try db.execute(
                    sql: "DELETE FROM retention_policies WHERE organization_id = ? AND part_id = ? AND component_name = ? AND method_name = ?",
                    arguments: key)
                return
            }
            try db.execute(
                sql: """
                    INSERT INTO retention_policies (organization_id, part_id, component_name, method_name, days, binary_limit_bytes, tabular_limit_bytes)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (organization_id, part_id, component_name, method_name) DO UPDATE SET
                        days = excluded.days, binary_limit_bytes = excluded.binary_limit_bytes, tabular_limit_bytes = excluded.tabular_limit_bytes
                    """,
                arguments: key + [policy.days, policy.binaryLimitBytes, policy.tabularLimitBytes])
        }
    }

    public func retentionPolicies() async throws -> [RetentionResource: RetentionPolicy] {
        try await read("listing retention policies") { db in
            var policies: [RetentionResource: RetentionPolicy] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM retention_policies") {
                let resource = RetentionResource(
                    organizationID: row["organization_id"], partID: row["part_id"], componentName: row["component_name"],
                    methodName: row["method_name"])
                policies[resource] = RetentionPolicy(
                    days: row["days"], binaryLimitBytes: row["binary_limit_bytes"], tabularLimitBytes: row["tabular_limit_bytes"])
            }
            return policies
        }
    }

    public func enforceRetention(_ policy: RetentionPolicy, for resource: RetentionResource, now: Int64) async throws -> RetentionDeletion {
        try StoreChecks.validate(resource: resource, policy: policy)
        let organizationID = resource.organizationID
        var deletion = RetentionDeletion()
        var aged = resource.filter
        if let cutoff = policy.cutoff(now: now) {
            aged.timeRequested.lessThan(cutoff)
            if let query = ReadingQuery(organizationID: organizationID, filter: aged) {
                deletion.readings += try await write("deleting readings of \(resource) past its retention") { db in
                    try Self.deleteReadings(db, organizationID: organizationID, where: query.sql, arguments: query.arguments)
                }
            }
            var binaries = BinaryFilter()
            binaries.columns = aged
            deletion.binaries += try await deleteBinaries(where: Self.binaryWhere(organizationID: organizationID, filter: binaries))
        }
        guard let scope = ReadingQuery(organizationID: organizationID, filter: resource.filter) else { return deletion }
        if let limit = policy.tabularLimitBytes {
            // The newest reading whose own size and those of every newer one exceed the limit:
            // it and every older one go.
            let condition = """
                \(scope.sql) AND (time_requested, id) <= (
                    SELECT time_requested, id FROM (
                        SELECT time_requested, id, SUM(length(data)) OVER (ORDER BY time_requested DESC, id DESC ROWS UNBOUNDED PRECEDING) AS kept
                        FROM readings WHERE \(scope.sql))
                    WHERE kept > ? ORDER BY time_requested DESC, id DESC LIMIT 1)
                """
            let arguments = scope.arguments + scope.arguments + [limit]
            deletion.readings += try await write("deleting the oldest readings of \(resource) past its size limit") { db in
                try Self.deleteReadings(db, organizationID: organizationID, where: condition, arguments: arguments)
            }
        }
        if let limit = policy.binaryLimitBytes {
            let condition = Condition(
                sql: """
                    \(scope.sql) AND id IN (
                        SELECT id FROM (
                            SELECT id, SUM(size) OVER (ORDER BY time_requested DESC, id DESC ROWS UNBOUNDED PRECEDING) AS kept
                            FROM binary_data WHERE \(scope.sql))
                        WHERE kept > ?)
                    """,
                arguments: scope.arguments + scope.arguments + [limit])
            deletion.binaries += try await deleteBinaries(where: condition)
        }
        return deletion
    }
}
