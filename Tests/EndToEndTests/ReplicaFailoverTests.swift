import FerryTestSupport
import Foundation
import Testing

/// `ferry serve` replicas on one PostgreSQL database, with real hosts syncing into them. Afterwards
/// the store holds every reading each host captured exactly once.
/// - One host lists both replicas in its `ferry.server`: the replica in use is SIGKILLed mid-sync, the
///   host carries on with the other; the first comes back and the second is killed, the host goes
///   back to the first.
/// - Two hosts, one per replica, each through a proxy that cuts its connections: one replica is
///   SIGKILLed and restarted mid-sync.
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
            #expect(eventually(timeout: 300) { rig.archivedRecordCount() > 600 }, "\(rig.archivedRecordCount()) confirmed")
            try rig.stopHost()

            // What is left goes up through the replicas that run, then every reading is compared.
            (second, secondPort) = try rig.startServe(port: secondPort, logName: "replica-2.log")
            try rig.drain(serverPorts: [rig.serverPort, secondPort])
            try rig.expectStoreEqualsArchive()
        }

        @Test func twoHostsOneReplicaEachThroughCutConnectionsStoreEveryReadingOnce() async throws {
            let first = try SyncRig(partID: "replica-part-a")
            defer { first.tearDown() }
            first.database = try await TestPostgres.freshDatabase()
            try first.startServer()
            let second = try SyncRig(partID: "replica-part-b")
            defer { second.tearDown() }
            second.share(storeOf: first)
            try second.startServer()
            let proxies = try [(first, 0xA11CE as UInt64), (second, 0xB0B)].map { rig, seed in
                try CuttingProxy(upstreamPort: rig.serverPort, seed: seed, byteRange: 500..<30_000)
            }
            defer { proxies.forEach { $0.close() } }
            func synced(_ rig: SyncRig) -> Int { (rig.status()?["host"] as? [String: Any])?["synced_files"] as? Int ?? 0 }

            try first.startHost(serverPort: proxies[0].port)
            try second.startHost(serverPort: proxies[1].port)
            for (rig, proxy) in zip([first, second], proxies) {
                #expect(eventually(timeout: 300) { synced(rig) >= 3 && proxy.cuts >= 2 },
                        "\(rig.partID) synced \(synced(rig)) files, its proxy cut \(proxy.cuts):\n\(rig.log("host.log").suffix(3000))")
            }

            // The first replica dies mid-sync and comes back on its port; its host resumes through it.
            let secondBefore = synced(second)
            first.server?.signal(SIGKILL)
            _ = first.server?.wait()
            let beforeRestart = synced(first)
            try first.startServer()
            #expect(eventually(timeout: 300) { synced(first) >= beforeRestart + 3 }, "\(first.log("host.log").suffix(3000))")
            #expect(eventually(timeout: 300) { synced(second) > secondBefore }, "the other host kept syncing to its replica")
            // Enough confirmed readings on each side for the comparison to prove something (a count,
            // not a time: a loaded machine captures and syncs slower).
            for rig in [first, second] {
                #expect(eventually(timeout: 300) { rig.archivedRecordCount() > 600 }, "\(rig.partID): \(rig.archivedRecordCount()) confirmed")
            }

            for rig in [first, second] { try rig.stopHost() }
            for (rig, proxy) in zip([first, second], proxies) {
                proxy.setCutting(false)
                try rig.drain(serverPort: proxy.port)
            }
            try first.expectStoreEqualsArchive()
            try second.expectStoreEqualsArchive()
        }
    }
}
