import FerryBSON
import FerryCapture
import FerryConfig
import FerryLoader
import Foundation
import Logging
import Synchronization

/// The machine's `mongo_capture_config`, changeable on config reload: one writer for the current
/// config, shared by every collector's sink.
package final class MongoCaptureMirror: Sendable {
    private let current = Mutex<MongoCaptureWriter?>(nil)
    let logger: Logger

    package init(logger: Logger) { self.logger = logger }

    /// Starts a writer for `config` (replacing one for another config), or stops it for nil.
    package func configure(_ config: MongoCaptureConfig?) {
        let (old, new) = current.withLock { current -> (MongoCaptureWriter?, MongoCaptureWriter?) in
            guard current?.config != config else { return (nil, nil) }
            let old = current
            current = config.map { MongoCaptureWriter(config: $0, logger: logger) }
            return (old, current)
        }
        old?.stop()
        if let new {
            logger.info("capturing tabular readings into MongoDB too: \(new.config.uri), \(new.config.database).\(new.config.collection)")
            new.start()
        }
    }

    package var stats: MongoCaptureStats? { current.withLock { $0?.stats } }

    /// Queues one tabular reading in Viam's document shape (the fields of Viam's TabularDataBson
    /// plus a driver-style ObjectId `_id`); a no-op without a config.
    func mirror(_ data: BSONDocument, api: String, component: String, method: String, requested: Date, received: Date) {
        guard let writer = current.withLock({ $0 }) else { return }
        writer.enqueue([
            "_id": .objectID(ObjectIDs.next()), "time_requested": .datetime(Self.milliseconds(requested)),
            "time_received": .datetime(Self.milliseconds(received)), "component_name": .string(component),
            "component_type": .string(api), "method_name": .string(method), "data": .document(data),
        ])
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
}

/// A collector's sink that writes to its capture file first and then hands tabular readings to
/// the MongoDB mirror ("after it is enqueued to be written to disk", as Viam puts it).
package struct MongoCaptureSink: ReadingSink {
    let inner: any ReadingSink
    let mirror: MongoCaptureMirror
    let api: String
    let component: String
    let method: String

    package init(inner: any ReadingSink, mirror: MongoCaptureMirror, api: String, component: String, method: String) {
        self.inner = inner
        self.mirror = mirror
        self.api = api
        self.component = component
        self.method = method
    }

    package func write(_ value: CapturedValue, timeRequested: Date, timeReceived: Date) {
        inner.write(value, timeRequested: timeRequested, timeReceived: timeReceived)
        if case .tabular(let data) = value {
            mirror.mirror(data, api: api, component: component, method: method, requested: timeRequested, received: timeReceived)
        }
    }

    package func close() { inner.close() }
    package func finishFile() { inner.finishFile() }
    package func prepare() { inner.prepare() }
}

/// ObjectIds as drivers make them: 4-byte seconds, 5 random bytes per process, 3-byte counter.
enum ObjectIDs {
    static let process: [UInt8] = {
        var generator = SystemRandomNumberGenerator()
        return (0..<5).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }()
    static let counter = Atomic<UInt32>(UInt32.random(in: 0...0xFF_FFFF))

    static func next(now: Date = Date()) -> BSONObjectID {
        let seconds = UInt32(truncatingIfNeeded: Int64(now.timeIntervalSince1970))
        let count = counter.add(1, ordering: .relaxed).newValue
        var bytes = [UInt8(truncatingIfNeeded: seconds >> 24), UInt8(truncatingIfNeeded: seconds >> 16), UInt8(truncatingIfNeeded: seconds >> 8), UInt8(truncatingIfNeeded: seconds)]
        bytes += process
        bytes += [UInt8(truncatingIfNeeded: count >> 16), UInt8(truncatingIfNeeded: count >> 8), UInt8(truncatingIfNeeded: count)]
        return BSONObjectID(bytes: bytes)
    }
}
