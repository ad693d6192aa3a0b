import FerryTestSupport
import Foundation
import Testing

/// `ferry serve` given an address another process holds: it stops with an error that names the
/// server, the address and what to do, rather than the socket call's errno.
@Suite(.ownThreads) struct TakenAddressTests {
    @Test(arguments: [
        ("--listen", "Viam's data API"), ("--metrics-listen", "the metrics endpoint"), ("--ui-listen", "the web dashboard"),
    ])
    func aTakenAddressIsRefusedNamingTheServerAndWhatToDo(option: String, server: String) throws {
        // Only the proxy's listener is used: it holds a free loopback port.
        let holder = try CuttingProxy(upstreamPort: 9, seed: 0)
        defer { holder.close() }
        let data = try TemporaryDirectory("ferry-taken")
        defer { data.remove() }
        var options = ["--listen": "127.0.0.1:0", "--metrics-listen": "off"]
        options[option] = "127.0.0.1:\(holder.port)"
        let result = try FerryProcess.run(["serve", "--data", data.path] + options.sorted { $0.key < $1.key }.flatMap { [$0.key, $0.value] })
        #expect(result.status != 0)
        #expect(
            result.stderr.contains("\(server) cannot listen on 127.0.0.1:\(holder.port): the address is in use by another process"),
            "\(result.stderr)")
    }
}
