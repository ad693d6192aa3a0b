import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

// What the host took from Foundation's NSString and formatters, on plain Strings.

/// File paths as text (what NSString's path methods did), for paths the host builds itself.
package enum FilePaths {
    /// `directory/name`; `name` alone when `directory` is empty.
    package static func join(_ directory: String, _ name: String) -> String {
        directory.isEmpty ? name : directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The directory holding `path`: "/a/b" → "/a", "/a" → "/", "a" → "".
    package static func parent(_ path: String) -> String {
        let trimmed = trimmingTrailingSlashes(path)
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        return slash == trimmed.startIndex ? "/" : trimmingTrailingSlashes(String(trimmed[..<slash]))
    }

    /// The last component: "/a/b.txt" → "b.txt".
    package static func name(_ path: String) -> String {
        let trimmed = trimmingTrailingSlashes(path)
        guard let slash = trimmed.lastIndex(of: "/"), trimmed != "/" else { return trimmed }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// The last component's extension without its dot ("b.tar.gz" → "gz"; "b", ".hidden" → "").
    package static func `extension`(_ path: String) -> String {
        let name = name(path)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return String(name[name.index(after: dot)...])
    }

    /// `path` without its last component's extension ("/a/b.txt" → "/a/b").
    package static func removingExtension(_ path: String) -> String {
        let ext = `extension`(path)
        let trimmed = trimmingTrailingSlashes(path)
        return ext.isEmpty ? trimmed : String(trimmed.dropLast(ext.count + 1))
    }

    private static func trimmingTrailingSlashes(_ path: String) -> String {
        var path = Substring(path)
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }
}

extension StringProtocol {
    /// Without leading and trailing whitespace (spaces, tabs, newlines).
    package var trimmedWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

/// `value` with one digit after the point ("%.1f"), for durations in messages.
package func oneDecimal(_ value: Double) -> String {
    guard value.isFinite else { return "\(value)" }
    let tenths = Int((abs(value) * 10).rounded(.toNearestOrEven))
    return "\(value < 0 && tenths > 0 ? "-" : "")\(tenths / 10).\(tenths % 10)"
}

/// An error as a sentence: a file system error as its path and the system's reason, rather than
/// the type's dump (Foundation's `localizedDescription` without Foundation).
package func describe(_ error: any Error) -> String {
    if let error = error as? CocoaError {
        let reason = (error.underlying as? POSIXError).map { String(cString: strerror($0.code.rawValue)) } ?? "error \(error.code.rawValue)"
        return error.filePath.map { "\($0): \(reason)" } ?? reason
    }
    if let error = error as? POSIXError { return String(cString: strerror(error.code.rawValue)) }
    return "\(error)"
}

/// `text` with its %XX escapes decoded as UTF-8; nil for a bad escape or bytes that are not UTF-8.
package func percentDecoded(_ text: some StringProtocol) -> String? {
    var bytes: [UInt8] = []
    var utf8 = text.utf8.makeIterator()
    while let byte = utf8.next() {
        guard byte == UInt8(ascii: "%") else {
            bytes.append(byte)
            continue
        }
        guard let high = utf8.next().flatMap(hexValue), let low = utf8.next().flatMap(hexValue) else { return nil }
        bytes.append(high << 4 | low)
    }
    return String(validating: bytes, as: UTF8.self)
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// Writes `text` to stderr whole (retrying short writes), with no buffering in between.
package func writeToStandardError(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if written < 0, errno == EINTR { continue }
        guard written > 0 else { return }
        bytes = bytes.dropFirst(written)
    }
}
