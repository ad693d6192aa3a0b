import FerryBSON
import FerryStore
import FerryStoreSQLite
import Foundation
import StoreTestSupport
import Testing

/// A real store of one backend, fresh for one test, with two organisations, and a few reading helpers.
struct StoreFixture {
    let testStore: TestStore
    let orgA: String
    let orgB: String
    var store: any DataStore { testStore.store }
    var backend: StoreBackend { testStore.backend }

    static let t0: Int64 = 1_700_000_000_000  // 2023-11-14T22:13:20Z

    static func make(
        _ backend: StoreBackend, hotStorageHours: Int? = 24, sqlLimits: SQLSandboxLimits = SQLSandboxLimits(),
        rounds: Int = 1_000
    ) async throws -> StoreFixture {
        var options = StoreOptions.testing
        options.hotStorageHours = hotStorageHours
        options.sqlLimits = sqlLimits
        // Few rounds keep the suite fast; one test checks the production default.
        options.apiKeyHashRounds = rounds
        let testStore = try await TestStore.make(backend, options: options)
        let a = try await testStore.store.createOrganization(name: "Acme")
        let b = try await testStore.store.createOrganization(name: "Bolt")
        return StoreFixture(testStore: testStore, orgA: a.id, orgB: b.id)
    }

    func remove() { testStore.remove() }

    /// The SQLite store underneath, for the tests of what only that backend has (files, plans).
    var sqlite: SQLiteReadingStore { store as! SQLiteReadingStore }

    /// Reading `i` of a sequence: varied components, robots and times, and `data.readings.i = i`
    /// so that tests can tell records apart.
    static func reading(_ i: Int, org: String, time: Int64? = nil) -> Reading {
        let t = time ?? t0 + Int64(i) * 60_000
        return Reading(
            organizationID: org, locationID: "loc-\(i % 2)", robotID: "robot-\(i % 3)", partID: "part-\(i % 3)",
            componentType: i % 4 == 0 ? "rdk:component:movement_sensor" : "rdk:component:sensor",
            componentName: "sensor-\(i % 4)", methodName: i % 5 == 0 ? "Position" : "Readings", timeRequested: t - 5,
            timeReceived: t, tags: i % 2 == 0 ? ["even", "lab"] : [],
            additionalParameters: i % 3 == 0 ? ["unit": "celsius"] : [:],
            data: ["readings": ["i": .int32(Int32(i)), "temperature": .double(20 + Double(i % 10) / 2), "label": .string("r\(i)")]])
    }

    static func readings(_ range: Range<Int>, org: String) -> [Reading] { range.map { reading($0, org: org) } }
}

extension BSONDocument {
    /// `data.readings.i` of a reading document.
    var recordIndex: Int? {
        self["data"]?.documentValue?["readings"]?.documentValue?["i"]?.int64Value.map(Int.init)
    }
}

/// Runs `body` and returns the `StoreError` it threw, or nil if it threw nothing. Any other error
/// fails the test: the store promises `StoreError` for every failure.
func storeError(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async -> StoreError? {
    do {
        try await body()
        return nil
    } catch let error as StoreError {
        return error
    } catch {
        Issue.record("expected a StoreError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
