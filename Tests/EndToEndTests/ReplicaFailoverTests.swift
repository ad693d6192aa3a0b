import FerryTestSupport
import Foundation
import Testing

/// A host syncing to two `ferry serve` replicas on one PostgreSQL database, listed in its
/// `ferry.server`: the replica in use is SIGKILLed mid-sync, the host carries on with the other;
/// the first comes back and the second is killed, the host goes back to the first. Afterwards
/// the store holds every captured reading exactly once.
extension HeavyEndToEnd {
    @Suite(.serialized, .ownThreads) struct ReplicaFailoverTests {
        @Test func aHostFailsOverBetweenReplicasAndStoresEveryReadingOnce() async throws {
            let rig = try SyncRig()
            defer { rig.tearDown() }
            rig.database = try await TestPostgres.freshDatabase()
            try rig.startServer()
            var (second, secondPort) = try rig.startServe(port: 0, logName: "replica-2.log")
            defer { if second.process.isRunning { second.signal(SIGKILL) } }
            let first = "127.0.0.1:\(rig.serverPort)", other = "127.0.0.1:\(secondPort)"
            func synced() -> Int { (rig.status()?["host"] as? [String: Any])?["synced_files"] as? Int ?? 0 }

            try rig.startHost(serverPorts: [rig.serverPort, secondPort])
            #expect(eventually(timeout: 300) { synced() >= 3 }, "nothing synced to \(first):\n\(rig.log("host.log").suffix(3000))")
            #expect(!rig.log("host.log").contains("sync now goes to"), "the preferred replica answered, yet the host moved")

            // The replica in use dies: the host moves to the other on its own.
            rig.server?.signal(SIGKILL)
            _ = rig.server?.wait()
            let beforeFailover = synced()
            let failedOver = eventually(timeout: 300) { synced() >= beforeFailover + 3 }
            #expect(failedOver, "sync stopped when \(first) died:\n\(rig.status() ?? [:])\n\(rig.log("host.log").suffix(3000))")
            #expect(eventually { rig.log("host.log").contains("sync now goes to \(other) (\(first) is unreachable: ") }, "\(rig.log("host.log").suffix(3000))")

            // The first comes back on its port and the second dies: the host goes back to the first.
            try rig.startServer()
            second.signal(SIGKILL)
            _ = second.wait()
            let beforeFailback = synced()
            #expect(eventually(timeout: 300) { synced() >= beforeFailback + 3 }, "sync stopped when \(other) died:\n\(rig.log("host.log").suffix(3000))")
            #expect(eventually { rig.log("host.log").contains("sync now goes to \(first) (the preferred server is back)") }, "\(rig.log("host.log").suffix(3000))")
            try rig.stopHost()

            // What is left goes up through the replicas that run, then every reading is compared.
            (second, secondPort) = try rig.startServe(port: secondPort, logName: "replica-2.log")
            try rig.drain(serverPorts: [rig.serverPort, secondPort])
            try rig.expectStoreEqualsArchive()
        }
    }
}
