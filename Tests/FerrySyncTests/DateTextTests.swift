import FerryCaptureFile
import FerryClock
import Foundation
import Testing

@testable import FerrySync

/// The host writes dates without Foundation's ICU-backed formatters; the text must stay what
/// those formatters wrote, so files from earlier versions and other readers still agree.
@Suite struct DateTextTests {
    struct Stamped: Codable, Equatable {
        var at: Date
    }

    let dates = [
        Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1_764_777_600), Date(timeIntervalSince1970: 1_764_777_600.987),
        Date(timeIntervalSince1970: -1.5), Date(timeIntervalSince1970: 4_102_444_799.999),
    ]

    @Test func jsonDatesAreWhatTheISO8601StrategyWrites() throws {
        let ours = JSONEncoder(), foundations = JSONEncoder()
        ours.dateEncodingStrategy = .rfc3339
        foundations.dateEncodingStrategy = .iso8601
        for date in dates {
            let text = String(decoding: try ours.encode(Stamped(at: date)), as: UTF8.self)
            #expect(text == String(decoding: try foundations.encode(Stamped(at: date)), as: UTF8.self))
        }
    }

    @Test func jsonDatesReadBackToTheSecondAndAcceptFractionsAndOffsets() throws {
        let ours = JSONDecoder(), encoder = JSONEncoder()
        ours.dateDecodingStrategy = .rfc3339
        encoder.dateEncodingStrategy = .rfc3339
        for date in dates {
            let decoded = try ours.decode(Stamped.self, from: try encoder.encode(Stamped(at: date)))
            #expect(decoded.at == Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)))
        }
        let withFraction = try ours.decode(Stamped.self, from: Data(#"{"at":"2025-12-03T16:00:00.250+01:00"}"#.utf8))
        #expect(withFraction.at == Date(timeIntervalSince1970: 1_764_774_000.25))
        let error = try #require(throws: DecodingError.self) { try ours.decode(Stamped.self, from: Data(#"{"at":"yesterday"}"#.utf8)) }
        #expect("\(error)".contains("invalid $date string \"yesterday\""))
    }

    @Test func syncStatusSurvivesItsFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-status-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var status = SyncStatus(updatedAt: Date(timeIntervalSince1970: 1_764_777_601), server: "127.0.0.1:8443")
        status.lastErrorAt = Date(timeIntervalSince1970: 1_764_777_000)
        status.syncedRecords = 42
        status.save(captureDir: dir)
        #expect(SyncStatus.load(captureDir: dir) == status)
        let text = try String(contentsOfFile: SyncStatus.path(captureDir: dir), encoding: .utf8)
        #expect(text.contains(#""updated_at":"2025-12-03T16:00:01Z""#), "\(text)")
    }

    @Test func captureFileNamesAreTheFormattersTextAndSortInTimeOrder() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let times = [1_764_777_600, 1_764_777_600.001, 1_764_777_600.5, 1_764_777_601, 1_764_777_659.999, 1_764_777_660]
        let names = times.map { CaptureFile.baseName(at: Date(timeIntervalSince1970: $0)) }
        for (time, name) in zip(times, names) {
            #expect(name.hasPrefix(formatter.string(from: Date(timeIntervalSince1970: time)) + "-"), "\(name)")
        }
        #expect(names.map { $0.prefix(24) } == names.map { $0.prefix(24) }.sorted())
    }
}
