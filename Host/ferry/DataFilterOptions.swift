import ArgumentParser
import FerryStore
import Foundation

/// The filter flags of `ferry data export|delete|tag`, named as Viam's CLI names them. Every
/// flag narrows; none given matches all of the organisations' data.
struct DataFilterOptions: ParsableArguments {
    @Option(name: .customLong("org-ids"), parsing: .upToNextOption, help: "The organisations (space- or comma-separated; at least one).")
    var orgIDs: [String] = []
    @Option(name: .customLong("location-ids"), parsing: .upToNextOption, help: "Only these locations.")
    var locationIDs: [String] = []
    @Option(name: .customLong("machine-id"), help: "Only this machine (robot id).") var machineID: String?
    @Option(name: .customLong("part-id"), help: "Only this machine part.") var partID: String?
    @Option(name: .customLong("component-name"), help: "Only this component.") var componentName: String?
    @Option(name: .customLong("component-type"), help: "Only this component type, e.g. rdk:component:camera.") var componentType: String?
    @Option(help: "Only this capture method, e.g. ReadImage.") var method: String?
    @Option(name: .customLong("mime-types"), parsing: .upToNextOption, help: "Only these MIME types (binary data).")
    var mimeTypes: [String] = []
    @Option(help: "Captured at or after this time: 2024-03-01, or RFC 3339 such as 2024-03-01T12:00:00Z.") var start: String?
    @Option(help: "Captured before this time (same forms as --start).") var end: String?
    @Option(name: .customLong("bbox-labels"), parsing: .upToNextOption, help: "Only images with a bounding box of one of these labels.")
    var boundingBoxLabels: [String] = []
    @Option(name: .customLong("dataset-id"), help: "Only binary data in this dataset.") var datasetID: String?

    var organizations: [String] { commaSeparated(orgIDs) }

    func validate() throws {
        guard !organizations.isEmpty else { throw ValidationError("name the organisations with --org-ids (`ferry org list` shows them)") }
        _ = try interval()
    }

    /// The reading columns and the capture interval every kind of data is filtered on.
    func readingFilter() throws -> ReadingFilter {
        var filter = ReadingFilter()
        let locations = commaSeparated(locationIDs)
        if !locations.isEmpty { filter.restrict(.locationID, to: Set(locations)) }
        let columns: [(ReadingFilter.Column, String?)] = [
            (.robotID, machineID), (.partID, partID), (.componentName, componentName), (.componentType, componentType), (.methodName, method),
        ]
        for case (let column, let value?) in columns { filter.restrict(column, to: [value]) }
        let (from, before) = try interval()
        if let from { filter.timeRequested.atLeast(from) }
        if let before { filter.timeRequested.lessThan(before) }
        return filter
    }

    /// The filter for binary data: the reading columns, MIME types, labels, dataset, and `tags`
    /// (at least one of them; a flag of its own, as `ferry data tag` takes `--tags` for the edit).
    func binaryFilter(tags: [String] = []) throws -> BinaryFilter {
        var filter = BinaryFilter()
        filter.columns = try readingFilter()
        let mimes = commaSeparated(mimeTypes), tagList = commaSeparated(tags), labels = commaSeparated(boundingBoxLabels)
        if !mimes.isEmpty { filter.mimeTypes = Set(mimes) }
        if !tagList.isEmpty { filter.tags = .matchAny(Set(tagList)) }
        if !labels.isEmpty { filter.boundingBoxLabels = Set(labels) }
        filter.datasetID = datasetID
        return filter
    }

    /// Flags that mean nothing to readings, for a refusal rather than a silent match-all.
    var binaryOnlyFlags: [String] {
        [
            mimeTypes.isEmpty ? nil : "--mime-types", boundingBoxLabels.isEmpty ? nil : "--bbox-labels",
            datasetID == nil ? nil : "--dataset-id",
        ].compactMap { $0 }
    }

    /// `--start` and `--end` as milliseconds since the epoch.
    private func interval() throws -> (Int64?, Int64?) {
        let from = try start.map { try Self.milliseconds($0, flag: "--start") }
        let before = try end.map { try Self.milliseconds($0, flag: "--end") }
        if let from, let before, before <= from { throw ValidationError("--end (\(end!)) must be after --start (\(start!))") }
        return (from, before)
    }

    static func milliseconds(_ text: String, flag: String) throws -> Int64 {
        let withTime = text.count == 10 ? text + "T00:00:00Z" : text
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = formatter.date(from: withTime) ?? ISO8601DateFormatter().date(from: withTime) else {
            throw ValidationError("\(flag) \(text): expected a date (2024-03-01) or an RFC 3339 time (2024-03-01T12:00:00Z)")
        }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}

/// `--tags` as a filter: data with at least one of them (binary data).
struct TagsFilterOption: ParsableArguments {
    @Option(parsing: .upToNextOption, help: "Only data with at least one of these tags (binary data).") var tags: [String] = []
}
