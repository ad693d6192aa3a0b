/// MongoDB's date expression semantics over BSON datetimes (Int64 milliseconds since the Unix
/// epoch, negative before 1970), in the proleptic Gregorian calendar. Each operator family lives
/// in its own file: parts (`$year` … `$dateToParts`), fromParts (`$dateFromParts`), truncate
/// (`$dateTrunc`), add (`$dateAdd`/`$dateSubtract`), diff (`$dateDiff`), format (`$dateToString`),
/// parse (`$dateFromString`).
public enum MQLDates {
    /// 2000-01-01T00:00:00Z, the origin MongoDB aligns `$dateTrunc` bins to.
    static let referenceUTCMillis: Int64 = 946_684_800_000

    /// `$dateToString`'s format when none is given and the zone is UTC.
    public static let isoFormatZ = "%Y-%m-%dT%H:%M:%S.%LZ"
    /// `$dateToString`'s format when none is given and a non-UTC zone is: MongoDB drops the "Z".
    public static let isoFormatNonZ = "%Y-%m-%dT%H:%M:%S.%L"

    /// The format `$dateToString` uses when its `format` argument is absent.
    public static func defaultFormat(in zone: MQLTimeZone) -> String {
        zone.isUTC ? isoFormatZ : isoFormatNonZ
    }
}
