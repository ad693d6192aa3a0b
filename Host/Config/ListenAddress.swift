import Foundation

/// A `HOST:PORT` to listen on. The data server binds IPv4 only, so HOST is an IPv4 literal
/// (0.0.0.0 for every interface) or `localhost`, which means 127.0.0.1.
package struct ListenAddress: Sendable, Equatable {
    package var host: String
    package var port: Int

    /// Nil unless `text` is an IPv4 address (or localhost), a colon, and a port from 0 to 65535.
    package init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let port = Int(parts[1]), (0...65_535).contains(port) else { return nil }
        let host = parts[0] == "localhost" ? "127.0.0.1" : String(parts[0])
        var address = in_addr()
        guard inet_pton(AF_INET, host, &address) == 1 else { return nil }
        self.host = host
        self.port = port
    }

    package static let expected = "an IPv4 address and a port, e.g. 127.0.0.1:8080 (0.0.0.0:8080 listens on every interface; port 0 picks a free one)"
}
