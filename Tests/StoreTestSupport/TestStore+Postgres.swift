import FerryStore
import FerryStorePostgres
import FerryTestSupport
import Foundation

/// PostgreSQL stores for tests: each a copy of a template database migrated once per process.
enum TestPostgresStores {
    private actor Template {
        var making: Task<String, any Error>?

        func name() async throws -> String {
            if let making { return try await making.value }
            let task = Task {
                let name = "ferry_template_\(getpid())"
                let url = try await TestPostgres.namedDatabase(name)
                let store = try await PostgresStore.open(try PostgresURL(url))
                store.close()
                return name
            }
            making = task
            return try await task.value
        }
    }

    private static let template = Template()

    static func fresh(options: StoreOptions) async throws -> (PostgresStore, String) {
        let url = try await TestPostgres.freshDatabase(template: try await template.name())
        return (try await open(url, options: options), url)
    }

    static func open(_ url: String, options: StoreOptions) async throws -> PostgresStore {
        var configuration = PostgresStore.Configuration(options)
        configuration.maxConnections = 6
        return try await PostgresStore.open(try PostgresURL(url), configuration: configuration)
    }
}
