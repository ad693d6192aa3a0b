import FerryBSON
import Foundation

/// `$geoNear` without an index: every document's location (at `key`) is measured against `near`,
/// then documents are returned nearest first.
///
/// Ferry keeps no geospatial index, so `key` (the location field) is required. GeoJSON points
/// give spherical distances in meters; legacy [x, y] pairs give planar distances, or radians
/// with `spherical: true`, as MongoDB does.
enum GeoNearStage {
    static let earthRadiusMeters = 6_378_100.0

    struct Point: Sendable {
        let x: Double
        let y: Double
    }

    static func compile(_ s: StageInput) throws -> StageOpen {
        let stage = "$geoNear"
        guard case .document(let d) = s.spec else { throw mqlError(stage, "$geoNear's specification must be an object") }
        let allowed = ["near", "distanceField", "spherical", "maxDistance", "minDistance", "query", "includeLocs", "distanceMultiplier", "key"]
        for key in d.keys where !allowed.contains(key) {
            throw mqlError(stage, "$geoNear does not take an option '\(key)'")
        }
        guard let nearSpec = d["near"] else { throw mqlError(stage, "$geoNear requires a 'near' option") }
        let (near, isGeoJSON) = try parseNear(nearSpec)
        guard case .string(let distanceText)? = d["distanceField"] else {
            throw mqlError(stage, "$geoNear requires a 'distanceField' option as a string")
        }
        let distanceField = try FieldPath(distanceText, op: stage, what: "distanceField").components
        guard case .string(let keyText)? = d["key"] else {
            throw mqlError(stage, "$geoNear needs 'key', the name of the location field: Ferry keeps no geospatial index to infer it from")
        }
        let key = try FieldPath(keyText, op: stage, what: "key").components
        var spherical = false
        if let sp = d["spherical"] {
            guard case .bool(let b) = sp else { throw mqlError(stage, "$geoNear's 'spherical' must be a boolean") }
            spherical = b
        }
        func number(_ name: String) throws -> Double? {
            guard let v = d[name] else { return nil }
            guard v.isNumeric, let n = v.numericDouble, n >= 0 else { throw mqlError(stage, "$geoNear's '\(name)' must be a non-negative number") }
            return n
        }
        let maxDistance = try number("maxDistance"), minDistance = try number("minDistance")
        let multiplier = try number("distanceMultiplier") ?? 1
        var includeLocs: [String]?
        if let inc = d["includeLocs"] {
            guard case .string(let text) = inc else { throw mqlError(stage, "$geoNear's 'includeLocs' must be a string") }
            includeLocs = try FieldPath(text, op: stage, what: "includeLocs").components
        }
        var query: Matcher?
        if let q = d["query"] {
            guard case .document(let qd) = q else { throw mqlError(stage, "$geoNear's 'query' must be an object") }
            query = try QueryCompiler.compile(qd, s.compiler)
        }
        let filter = query, locationsPath = includeLocs
        let metric: Metric = isGeoJSON ? .meters : (spherical ? .radians : .planar)
        return { upstream, ctx in
            BlockingSource {
                var budget = MemoryBudget(limit: ctx.environment.options.memoryLimitBytes, stage: stage)
                var found: [(distance: Double, location: BSON, doc: BSONDocument)] = []
                while let doc = try upstream.next() {
                    if let filter, try !filter(doc, ctx) { continue }
                    guard let location = FieldPath.nested(key, in: doc), let point = GeoNearStage.point(location) else { continue }
                    let distance = metric.distance(near, point)
                    if let maxDistance, distance > maxDistance { continue }
                    if let minDistance, distance < minDistance { continue }
                    try budget.add(Values.estimatedSize(doc))
                    found.append((distance, location, doc))
                }
                let sorted = found.enumerated().sorted { a, b in
                    a.element.distance != b.element.distance ? a.element.distance < b.element.distance : a.offset < b.offset
                }
                return sorted.map { entry in
                    var out = entry.element.doc
                    out.setPath(ArraySlice(distanceField), .double(entry.element.distance * multiplier))
                    if let locationsPath { out.setPath(ArraySlice(locationsPath), entry.element.location) }
                    return out
                }
            }
        }
    }

    enum Metric: Sendable {
        case meters, radians, planar
        func distance(_ a: Point, _ b: Point) -> Double {
            switch self {
            case .planar: return ((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot()
            case .radians: return GeoNearStage.angle(a, b)
            case .meters: return GeoNearStage.angle(a, b) * GeoNearStage.earthRadiusMeters
            }
        }
    }

    /// Great-circle angle between two (longitude, latitude) points, in radians (haversine).
    static func angle(_ a: Point, _ b: Point) -> Double {
        let rad = Double.pi / 180
        let lat1 = a.y * rad, lat2 = b.y * rad
        let dLat = (b.y - a.y) * rad, dLng = (b.x - a.x) * rad
        let h = sin(dLat / 2) * sin(dLat / 2) + cos(lat1) * cos(lat2) * sin(dLng / 2) * sin(dLng / 2)
        return 2 * asin(min(1, h.squareRoot()))
    }

    static func parseNear(_ v: BSON) throws -> (Point, Bool) {
        if case .document(let d) = v, d["type"] != nil {
            guard let p = point(v) else {
                throw mqlError("$geoNear", "$geoNear's 'near' must be a GeoJSON Point {type: \"Point\", coordinates: [lng, lat]} or a legacy [x, y] pair")
            }
            return (p, true)
        }
        guard let p = point(v) else {
            throw mqlError("$geoNear", "$geoNear's 'near' must be a GeoJSON Point {type: \"Point\", coordinates: [lng, lat]} or a legacy [x, y] pair")
        }
        return (p, false)
    }

    /// A GeoJSON Point, a legacy [x, y] array, or a legacy {x, y}-style object of two numbers.
    static func point(_ v: BSON) -> Point? {
        switch v {
        case .document(let d):
            if case .string("Point")? = d["type"], case .array(let c)? = d["coordinates"], c.count == 2,
                let x = c[0].numericDouble, let y = c[1].numericDouble, c[0].isNumeric, c[1].isNumeric
            {
                return Point(x: x, y: y)
            }
            if d["type"] == nil, d.count == 2, d[0].value.isNumeric, d[1].value.isNumeric {
                return Point(x: d[0].value.numericDouble!, y: d[1].value.numericDouble!)
            }
            return nil
        case .array(let a):
            guard a.count >= 2, a[0].isNumeric, a[1].isNumeric else { return nil }
            return Point(x: a[0].numericDouble!, y: a[1].numericDouble!)
        default:
            return nil
        }
    }
}
