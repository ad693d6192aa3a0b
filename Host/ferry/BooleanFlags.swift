import ArgumentParser

/// Viam's CLI (Go's flag parsing) takes every Boolean flag as `--flag`, `--flag=true` or
/// `--flag=False`, in any case, and Viam's docs write `--enable-backfill=True`. ArgumentParser's
/// flags take no value, so the arguments of the commands that mirror Viam's are rewritten before
/// parsing: `--flag=<true>` becomes `--flag`, `--flag=<false>` disappears.
enum BooleanFlags {
    /// The Boolean flags of each subcommand that mirrors a Viam CLI command, by its first word.
    /// A test compares this with the flags the parser really has (`--experimental-dump-help`).
    static let byCommand: [String: Set<String>] = [
        "pipelines": ["enable-backfill", "json", "recompute", "backfill-missed"]
    ]
    /// Flags that once took a value as a separate word (`--enable-backfill true`), still accepted.
    static let formerOptions: Set<String> = ["enable-backfill"]

    struct BadValue: Error, CustomStringConvertible {
        var flag: String
        var value: String
        var description: String {
            "--\(flag) is a Boolean flag: give it alone, or as --\(flag)=true / --\(flag)=false (any case), not \"\(value)\""
        }
    }

    /// Go's strconv.ParseBool, in any case: 1, t, true / 0, f, false.
    static func parse(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "1", "t", "true": true
        case "0", "f", "false": false
        default: nil
        }
    }

    static func normalize(_ arguments: [String]) throws -> [String] {
        guard let command = arguments.first, let flags = byCommand[command] else { return arguments }
        var out: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                out.append(contentsOf: arguments[(index - 1)...])
                break
            }
            guard argument.hasPrefix("--") else {
                out.append(argument)
                continue
            }
            let body = argument.dropFirst(2)
            if let equals = body.firstIndex(of: "="), flags.contains(String(body[..<equals])) {
                let flag = String(body[..<equals])
                let value = String(body[body.index(after: equals)...])
                guard let enabled = parse(value) else { throw BadValue(flag: flag, value: value) }
                if enabled { out.append("--\(flag)") }
                continue
            }
            if formerOptions.contains(String(body)), index < arguments.count, let enabled = parse(arguments[index]) {
                index += 1
                if enabled { out.append(argument) }
                continue
            }
            out.append(argument)
        }
        return out
    }
}
