import FerryBSON
extension MQLDates {
    /// `$dateFromParts`: the instant of a wall-clock time in `zone`. Out-of-range fields carry
    /// over as MongoDB carries them (month 14 → February of the next year, day 0 → the last day of
    /// the previous month, hour -1 → 23:00 the day before, and so on). MongoDB itself first
    /// rejects a year outside 1...9999 and other fields outside -32768...32767; that validation is
    /// the caller's. Results beyond the Int64 range saturate at `Int64.min`/`Int64.max`.
    public static func fromParts(
        year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int,
        in zone: MQLTimeZone
    ) -> Int64 {
        // Clamping keeps the day arithmetic in range; anything clamped is past BSON's ±292M years.
        let (y, m) = MQLCivil.addMonths(
            year: clamp(year, 1_000_000_000_000), month: 1, clamp(month, 12_000_000_000_000) - 1)
        let firstOfMonth = CivilCalendar.days(year: y, month: m, day: 1)
        return instant(
            days: Int128(firstOfMonth) + Int128(day) - 1,
            hour: hour, minute: minute, second: second, millisecond: millisecond, in: zone)
    }

    /// `$dateFromParts` with `isoWeekYear`, `isoWeek`, `isoDayOfWeek` (1 = Monday): day 1 of week
    /// 1 is the Monday of the week holding January 4. Week and day carry over like the other
    /// fields (week 53 of a 52-week year is week 1 of the next).
    public static func fromISOParts(
        isoWeekYear: Int, isoWeek: Int, isoDayOfWeek: Int, hour: Int, minute: Int, second: Int, millisecond: Int,
        in zone: MQLTimeZone
    ) -> Int64 {
        let monday = MQLCivil.isoWeekOneMonday(isoYear: clamp(isoWeekYear, 1_000_000_000_000))
        let days = Int128(monday) + (Int128(isoWeek) - 1) * 7 + Int128(isoDayOfWeek) - 1
        return instant(days: days, hour: hour, minute: minute, second: second, millisecond: millisecond, in: zone)
    }

    /// Sums a day number and time fields in 128 bits (each field may be any Int) and resolves the
    /// wall-clock result in `zone`.
    static func instant(
        days: Int128, hour: Int, minute: Int, second: Int, millisecond: Int, in zone: MQLTimeZone
    ) -> Int64 {
        let local =
            days * Int128(MQLCivil.msPerDay) + Int128(hour) * Int128(MQLCivil.msPerHour)
            + Int128(minute) * Int128(MQLCivil.msPerMinute) + Int128(second) * Int128(MQLCivil.msPerSecond)
            + Int128(millisecond)
        let clamped = Int64(clamping: local)
        let wallClock = MQLLocalTime(
            days: CivilCalendar.floorDiv(clamped, MQLCivil.msPerDay), msOfDay: CivilCalendar.floorMod(clamped, MQLCivil.msPerDay))
        return zone.utcMillis(fromLocal: wallClock) ?? (clamped < 0 ? .min : .max)
    }

    private static func clamp(_ value: Int, _ limit: Int64) -> Int64 {
        min(max(Int64(value), -limit), limit)
    }
}
