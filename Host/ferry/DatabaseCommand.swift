import ArgumentParser
import FerryMongoServer
import FerryRun
import FerryStore
import Foundation

/// `ferry data database …`: the organisation's MongoDB database user, as `viam data database …`.
struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "database", abstract: "The MongoDB endpoint's database user of an organisation (`ferry serve --mongo-listen`).",
        subcommands: [Configure.self, Hostname.self])

    struct Configure: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the organisation's database user db-user-ORG, or change its password.",
            discussion: """
                The password needs at least 8 characters, an uppercase letter, a number and a special \
                character such as $ or % (Viam's rules), in printable ASCII. Only a SCRAM-SHA-256 verifier \
                is stored. The user reads the organisation's data; --allow-insert also lets it insert \
                readings into sensorData.readings (what a host's mongo_capture_config needs).
                """)
        @OptionGroup var store: StoreArguments
        @Option(name: .customLong("org-id"), help: "The organisation id.") var orgID: String
        @Option(help: "The new password.") var password: String
        @Flag(
            inversion: .prefixedNo,
            help: "Whether the user may insert readings (unchanged when omitted; a new user may not).")
        var allowInsert: Bool?

        func run() async throws {
            LogSetup.bootstrap(defaultLevel: .warning)
            let credential: DatabaseUserCredential
            do {
                credential = try DatabaseUsers.credential(password: password)
            } catch let error as DatabaseUsers.PasswordRejected {
                throw Failure("--password: \(error)")
            }
            let store = try await self.store.open()
            let user: DatabaseUser
            do {
                user = try await store.configureDatabaseUser(organizationID: orgID, credential: credential, mayInsert: allowInsert)
            } catch let error as StoreError where error.kind == .notFound {
                throw Failure("no organisation \(orgID) in \(self.store.location); `ferry org list \(self.store.flag)` lists them")
            }
            let name = DatabaseUsers.userName(organizationID: orgID)
            print("database user \(name) configured: reads organisation \(orgID)'s data\(user.mayInsert ? " and may insert readings" : "")")
        }
    }

    struct Hostname: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print where the MongoDB endpoint listens and the connection string (without the password).")
        @OptionGroup var store: StoreArguments
        @Option(name: .customLong("org-id"), help: "The organisation id.") var orgID: String

        func run() async throws {
            LogSetup.bootstrap(defaultLevel: .warning)
            let store = try await self.store.open()
            guard try await store.organization(id: orgID) != nil else {
                throw Failure("no organisation \(orgID) in \(self.store.location); `ferry org list \(self.store.flag)` lists them")
            }
            guard let endpoint = try await store.databaseEndpoint() else {
                throw Failure(
                    "no MongoDB endpoint has served this store yet: start `ferry serve \(self.store.flag) --mongo-listen HOST:PORT`")
            }
            print("MongoDB endpoint hostname: \(endpoint.address)")
            print("MongoDB connection URI: \(DatabaseUsers.uri(organizationID: orgID, endpoint: endpoint))")
            let certificate = URL(fileURLWithPath: self.store.data).appendingPathComponent("tls-cert.pem").path
            if endpoint.tls, FileManager.default.fileExists(atPath: certificate) {
                print("With the self-signed certificate, add tlsCAFile=\(certificate) to the URI (or trust that file).")
            }
            if try await store.databaseUser(organizationID: orgID) == nil {
                print("No database user yet: `ferry data database configure \(self.store.flag) --org-id \(orgID) --password …` creates it.")
            }
        }
    }
}
