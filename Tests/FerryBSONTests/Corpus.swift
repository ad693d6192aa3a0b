import Foundation
import FerryTestSupport

/// One file of the official BSON corpus (mongodb/specifications, source/bson-corpus/tests).
struct CorpusFile: Decodable {
    struct Valid: Decodable {
        let description: String
        let canonical_bson: String
        let canonical_extjson: String
        let relaxed_extjson: String?
        let degenerate_bson: String?
        let degenerate_extjson: String?
        /// Deprecated types converted to current ones (symbol → string, …). FerryBSON keeps every
        /// deprecated type as itself, so these are not checked.
        let converted_bson: String?
        let converted_extjson: String?
        let lossy: Bool?
    }

    struct DecodeError: Decodable {
        let description: String
        let bson: String
    }

    struct ParseError: Decodable {
        let description: String
        let string: String
    }

    let description: String
    let bson_type: String
    let valid: [Valid]?
    let decodeErrors: [DecodeError]?
    let parseErrors: [ParseError]?

    /// File name without directory, for messages.
    var name = ""

    enum CodingKeys: String, CodingKey {
        case description, bson_type, valid, decodeErrors, parseErrors
    }
}

enum Corpus {
    static let environmentVariable = "FERRY_BSON_CORPUS"

    /// Every corpus file, sorted by name. Throws (never returns empty) when the corpus is missing,
    /// saying where it looked, so a missing corpus fails the run instead of skipping it.
    static func load(filePath: String = #filePath) throws -> [CorpusFile] {
        let directory = try TestData.sharedDirectory("bson-corpus", environmentVariable: environmentVariable, filePath: filePath)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".json") }
            .sorted()
        guard !names.isEmpty else {
            throw TestData.Missing(description: "no *.json files in the BSON corpus directory \(directory.path)")
        }
        return try names.map { name in
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            do {
                var file = try JSONDecoder().decode(CorpusFile.self, from: data)
                file.name = name
                return file
            } catch {
                throw TestData.Missing(description: "cannot read corpus file \(name): \(error)")
            }
        }
    }
}
