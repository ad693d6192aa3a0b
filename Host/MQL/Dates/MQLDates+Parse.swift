extension MQLDates {
    /// `$dateFromString`. With `format` nil, the ISO 8601 forms of `MQLISODateParser`
    /// ("2017-02-08", "2017-02-08T12:10:40.787", "…Z", "…+05:30", "2017-02-08 12:10:40 EST");
    /// with a format, the specifiers of `MQLFormatDateParser`.
    ///
    /// A string without zone information is read on `zone`'s wall clock (DST overlaps and gaps
    /// resolve by `MQLTimeZone`'s rule); one with an offset or abbreviation uses it, which MongoDB
    /// only allows when `zone` is UTC. Every failure is MongoDB's ConversionFailure (241) with its
    /// message ("Error parsing date string '…'; 4: Unexpected character ','"), except an invalid
    /// format, which fails as `$dateToString`'s does (18535, 18536).
    public static func parse(_ string: String, format: String?, in zone: MQLTimeZone) throws -> Int64 {
        var scanner = MQLDateScanner(string)
        let parsed: MQLParsedDate
        if let format {
            try MQLDateFormat.validate(format, allowed: MQLDateFormat.fromStringSpecifiers)
            parsed = try MQLFormatDateParser.parse(&scanner, format: format)
        } else {
            parsed = try MQLISODateParser.parse(&scanner)
        }
        return try parsed.instant(in: zone, scanner: scanner)
    }
}
