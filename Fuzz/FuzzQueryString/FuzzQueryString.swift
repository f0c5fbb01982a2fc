// libFuzzer target: a GET query string in the API 3.0 form (`Action=LookUpEvents&StartTime=...&
// LookupAttributes.0.AttributeKey=EventName&LookupAttributes.0.AttributeValue=x`) through
// `RequestParameters.fromQuery`, the typed readers, and the LookUpEvents/DescribeEvents parameter
// parsing. Built and run by scripts/fuzz; seeds in Fuzz/Corpus/FuzzQueryString.
import AuditAPI
import AuditModel
import Foundation
import FuzzHarness

/// A fixed server clock, so that a crash replays the same way.
let now: Int64 = 1_750_000_000

let names = ["Action", "Version", "Region", "StartTime", "EndTime", "MaxResults", "NextToken", "LookupAttributes", "Filters",
             "Storage", "EventNames", "Status", "IsCreateNewBucket", "TrackId", "Name"]

/// Every typed reader on `names` and on the parameters' own names, into nested objects (at most `budget`
/// of them, so that the work per input stays small).
/// The readers may throw (wrong types are the client's error); they must not trap.
func exercise(_ p: RequestParameters, budget: inout Int) {
    var seen = Set<String>()
    for name in names + p.root.fields.prefix(16).map(\.key) where seen.insert(name).inserted {
        _ = try? p.integer(name)
        _ = try? p.string(name)
        _ = try? p.array(name)
        _ = try? p.stringList(name)
        _ = try? p.time(name)
        _ = try? p.flag(name)
        _ = p[name]
        if budget > 0, let o = try? p.object(name) {
            budget -= 1
            exercise(o, budget: &budget)
        }
    }
}

func fuzzQueryString(_ input: UnsafeRawBufferPointer) {
    let query = String(decoding: input, as: UTF8.self)
    let params: RequestParameters
    do { params = try RequestParameters.fromQuery(query) } catch { return }
    precondition(params.fromQueryString && params.body.isEmpty)
    var budget = 16
    exercise(params, budget: &budget)
    for continuing in [false, true] {
        for retention in [1, 30, 36500] {
            _ = try? QueryParameters.parse(params, accountId: 100_000_000_001, now: now, retentionDays: retention,
                                           defaultMaxResults: 10, continuing: continuing)
        }
    }
}

@main enum Main: FuzzTarget {
    static func fuzz(_ input: UnsafeRawBufferPointer) { fuzzQueryString(input) }
}
