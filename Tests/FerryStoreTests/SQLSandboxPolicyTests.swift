import FerryStore
import GRDBSQLite
import Testing

@testable import FerryStoreSQLite

/// The authorizer's decisions for actions that the keyword pre-check stops before SQLite sees
/// them in the integration tests, so the second line of defence is tested on its own.
@Suite struct SQLSandboxPolicyTests {
    let policy = SQLSandboxPolicy(baseTable: "readings", scopeView: "ferry_scope_abc")

    @Test func deniesEveryWriteAndSchemaAction() {
        let denied: [Int32] = [
            SQLITE_INSERT, SQLITE_UPDATE, SQLITE_DELETE, SQLITE_CREATE_TABLE, SQLITE_CREATE_TEMP_TABLE, SQLITE_CREATE_VIEW,
            SQLITE_CREATE_TEMP_VIEW, SQLITE_CREATE_TRIGGER, SQLITE_CREATE_TEMP_TRIGGER, SQLITE_CREATE_INDEX,
            SQLITE_CREATE_VTABLE, SQLITE_DROP_TABLE, SQLITE_DROP_TEMP_VIEW, SQLITE_DROP_VTABLE, SQLITE_ALTER_TABLE,
            SQLITE_ATTACH, SQLITE_DETACH, SQLITE_PRAGMA, SQLITE_TRANSACTION, SQLITE_SAVEPOINT, SQLITE_ANALYZE,
            SQLITE_REINDEX,
        ]
        for action in denied {
            guard case .deny(let reason) = policy.decide(action, "readings", nil, "main", nil) else {
                Issue.record("action \(action) was allowed")
                continue
            }
            #expect(!reason.isEmpty)
        }
    }

    @Test func readsOnlyThroughTheScopedViews() {
        #expect(policy.decide(SQLITE_SELECT, nil, nil, nil, nil) == .allow)
        #expect(policy.decide(SQLITE_RECURSIVE, nil, nil, nil, "c") == .allow)
        #expect(policy.decide(SQLITE_READ, "readings", "data", "temp", nil) == .allow)
        #expect(policy.decide(SQLITE_READ, "ferry_scope_abc", "data", "temp", "readings") == .allow)
        #expect(policy.decide(SQLITE_READ, "readings", "data", "main", "ferry_scope_abc") == .allow)
        #expect(policy.decide(SQLITE_READ, "c", "", nil, nil) == .allow, "a CTE's own rows")
        #expect(policy.decide(SQLITE_READ, "json_each", "value", "main", nil) == .allow)
        // The base table read directly, or through a CTE or view named like the user view.
        #expect(policy.decide(SQLITE_READ, "readings", "data", "main", nil) != .allow)
        #expect(policy.decide(SQLITE_READ, "readings", "data", "main", "readings") != .allow)
        #expect(policy.decide(SQLITE_READ, "hot_readings", "data", "main", "ferry_scope_abc") != .allow)
        for table in ["api_keys", "organizations", "sqlite_master", "sqlite_schema", "dbstat", "sqlite_dbpage"] {
            #expect(policy.decide(SQLITE_READ, table, "x", "main", nil) != .allow, "\(table)")
        }
        #expect(policy.decide(SQLITE_READ, "sqlite_temp_master", "sql", "temp", nil) != .allow)
    }

    @Test func functions() {
        #expect(policy.decide(SQLITE_FUNCTION, nil, "json_extract", nil, nil) == .allow)
        #expect(policy.decide(SQLITE_FUNCTION, nil, "bson_json", nil, "readings") == .allow)
        for name in ["load_extension", "LOAD_EXTENSION", "fts3_tokenizer", "readfile", "writefile"] {
            #expect(policy.decide(SQLITE_FUNCTION, nil, name, nil, nil) != .allow, "\(name)")
        }
    }

    @Test func keywords() {
        #expect(SQLKeywords.first(in: "  select 1") == "SELECT")
        #expect(SQLKeywords.first(in: "-- a\n/* b */ ((delete") == "DELETE")
        #expect(SQLKeywords.first(in: "/* unterminated") == nil)
        #expect(SQLKeywords.first(in: "") == nil)
        #expect(SQLKeywords.first(in: "-- only a comment") == nil)
    }
}
