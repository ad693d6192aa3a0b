import FerryStore
import PostgresNIO

extension PostgresStore {
    public func setRetentionPolicy(_ policy: RetentionPolicy?, for resource: RetentionResource) async throws {
        try StoreChecks.validate(resource: resource, policy: policy)
        var query = Self.resourceCondition(resource)
        let sql: String
        if let policy, !policy.isEmpty {
            var values: [String] = []
            for value in [policy.days.map(Int64.init), policy.binaryLimitBytes, policy.tabularLimitBytes] {
                values.append(value.map { query.bind($0) } ?? "NULL")
            }
            sql = """
                INSERT INTO retention_policies (organization_id, part_id, component_name, method_name, days, binary_limit_bytes, tabular_limit_bytes)
                VALUES ($1, $2, $3, $4, \(values.joined(separator: ", ")))
                ON CONFLICT (organization_id, part_id, component_name, method_name) DO UPDATE SET
                    days = excluded.days, binary_limit_bytes = excluded.binary_limit_bytes, tabular_limit_bytes = excluded.tabular_limit_bytes
                """
        } else {
            sql = "DELETE FROM retention_policies WHERE \(query.sql)"
        }
        try await rows("setting the retention policy of \(resource)", query.query(sql))
    }

    public func retentionPolicies() async throws -> [RetentionResource: RetentionPolicy] {
        let sql = """
            SELECT organization_id, part_id, component_name, method_name, days, binary_limit_bytes, tabular_limit_bytes FROM retention_policies
            """
        var policies: [RetentionResource: RetentionPolicy] = [:]
        for row in try await rows("listing retention policies", PostgresQuery(unsafeSQL: sql)) {
            let (org, part, component, method, days, binary, tabular) = try row.decode(
                (String, String, String, String, Int64?, Int64?, Int64?).self)
            let resource = RetentionResource(organizationID: org, partID: part, componentName: component, methodName: method)
            policies[resource] = RetentionPolicy(days: days.map { Int($0) }, binaryLimitBytes: binary, tabularLimitBytes: tabular)
        }
        return policies
    }

    public func enforceRetention(_ policy: RetentionPolicy, for resource: RetentionResource, now: Int64) async throws -> RetentionDeletion {
        try StoreChecks.validate(resource: resource, policy: policy)
        var deletion = RetentionDeletion()
        if let cutoff = policy.cutoff(now: now), cutoff > PGTime.earliest {
            var readings = Self.resourceCondition(resource)
            if cutoff <= PGTime.latest { readings.clauses.append("time_requested < \(readings.bind(PGTime(cutoff)))") }
            deletion.readings += try await deleteReadings(readings, what: "deleting readings of \(resource) past its retention")
            var binaries = Self.resourceCondition(resource)
            binaries.clauses.append("time_requested < \(binaries.bind(cutoff))")
            deletion.binaries += try await deleteBinaries(binaries)
        }
        if let limit = policy.tabularLimitBytes {
            // The newest reading whose own size and those of every newer one exceed the limit:
            // it and every older one go.
            var readings = Self.resourceCondition(resource)
            let scope = readings.sql
            readings.clauses.append(
                """
                (time_requested, id) <= (
                    SELECT time_requested, id FROM (
                        SELECT time_requested, id,
                            sum(octet_length(data_bson)) OVER (ORDER BY time_requested DESC, id DESC ROWS UNBOUNDED PRECEDING) AS kept
                        FROM readings WHERE \(scope)) w
                    WHERE kept > \(readings.bind(limit)) ORDER BY time_requested DESC, id DESC LIMIT 1)
                """)
            deletion.readings += try await deleteReadings(readings, what: "deleting the oldest readings of \(resource) past its size limit")
        }
        if let limit = policy.binaryLimitBytes {
            var binaries = Self.resourceCondition(resource)
            let scope = binaries.sql
            binaries.clauses.append(
                """
                id IN (
                    SELECT id FROM (
                        SELECT id, sum(size) OVER (ORDER BY time_requested DESC, id COLLATE "C" DESC ROWS UNBOUNDED PRECEDING) AS kept
                        FROM binary_data WHERE \(scope)) w
                    WHERE kept > \(binaries.bind(limit)))
                """)
            deletion.binaries += try await deleteBinaries(binaries)
        }
        return deletion
    }

    /// The resource's rows (readings, payloads or its policy), the organisation bound first.
    static func resourceCondition(_ resource: RetentionResource) -> BinaryCondition {
        var condition = BinaryCondition(clauses: [], binds: PostgresBindings())
        condition.clauses.append("organization_id = \(condition.bind(resource.organizationID))")
        condition.clauses.append("part_id = \(condition.bind(resource.partID))")
        condition.clauses.append("component_name = \(condition.bind(resource.componentName))")
        condition.clauses.append("method_name = \(condition.bind(resource.methodName))")
        return condition
    }
}
