import Testing

@testable import FerryMQL

/// Milliseconds for an ISO instant "YYYY-MM-DDTHH:MM:SS[.mmm]Z", computed by counting days year
/// by year, independently of the calendar code under test.
func utc(_ text: String) -> Int64 {
    let digits = text.split(whereSeparator: { !$0.isNumber }).map { Int64($0)! }
    precondition(digits.count >= 6 && text.hasSuffix("Z"), "bad fixture \(text)")
    let (year, month, day) = (digits[0], digits[1], digits[2])
    var millis = digits.count > 6 ? digits[6] : 0
    millis += ((digits[3] * 60 + digits[4]) * 60 + digits[5]) * 1000
    func isLeap(_ y: Int64) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }
    var days: Int64 = 0
    if year >= 1970 {
        for y in 1970..<year { days += isLeap(y) ? 366 : 365 }
    } else {
        for y in year..<1970 { days -= isLeap(y) ? 366 : 365 }
    }
    let monthLengths: [Int64] = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    days += monthLengths.prefix(Int(month) - 1).reduce(0, +) + day - 1
    return days * 86_400_000 + millis
}

func zone(_ name: String) -> MQLTimeZone {
    try! MQLTimeZone(parsing: name)
}

let newYork = zone("America/New_York")
let kathmandu = zone("Asia/Kathmandu")
let india = zone("+05:30")

/// Runs `body` and returns the MQLDateError it throws, failing the test if it throws nothing
/// or something else.
func dateError(_ body: () throws -> Any) -> MQLDateError? {
    do {
        let value = try body()
        Issue.record("expected an error, got \(value)")
        return nil
    } catch let error as MQLDateError {
        return error
    } catch {
        Issue.record("unexpected error type \(error)")
        return nil
    }
}
