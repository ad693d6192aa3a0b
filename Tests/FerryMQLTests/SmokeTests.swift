import FerryBSON
import Testing

@testable import FerryMQL

@Suite struct SmokeTests {
    @Test func hourlyAverages() {
        expectPipeline(
            #"""
            [{"$match": {"component_name": "thermo-1"}},
             {"$group": {"_id": {"$dateTrunc": {"date": "$time_received", "unit": "hour"}},
                         "avg": {"$avg": "$data.readings.temperature"}, "n": {"$sum": 1}}},
             {"$sort": {"_id": 1}}]
            """#, readings,
            #"""
            [{"_id": {"$date": "2024-03-01T10:00:00Z"}, "avg": 21.0, "n": 2},
             {"_id": {"$date": "2024-03-01T11:00:00Z"}, "avg": 23.0, "n": 1}]
            """#)
    }
}
