// memchr for C-string scans. On Linux, importing Glibc also autolinks libm, which the
// Double→integer conversions in BSON.swift need when a binary links FerryBSON without Foundation.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Offset of the first NUL byte in `count` bytes at `start`, or nil.
@inline(__always)
func firstNUL(_ start: UnsafeRawPointer, count: Int) -> Int? {
    // Keys are short: a plain loop over the first bytes beats the call into libc for them.
    let quick = min(count, 32)
    for offset in 0..<quick where start.load(fromByteOffset: offset, as: UInt8.self) == 0 { return offset }
    guard count > quick, let found = memchr(start + quick, 0, count - quick) else { return nil }
    return start.distance(to: UnsafeRawPointer(found))
}
