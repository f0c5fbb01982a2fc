// libFuzzer target: a POST JSON body through `RequestParameters.fromBody`, the typed readers, and the
// LookUpEvents/DescribeEvents parameter parsing (`QueryParameters.parse`). Built and run by
// scripts/fuzz; seeds in Fuzz/Corpus/FuzzQueryParameters.
import AuditAPI
import AuditModel
import Foundation
import FuzzHarness

let now: Int64 = 1_750_000_000

let names = ["Action", "StartTime", "EndTime", "MaxResults", "NextToken", "LookupAttributes", "Filters", "Storage",
             "EventNames", "Status", "IsCreateNewBucket", "TrackId", "Name", "Events"]

func exercise(_ p: RequestParameters, budget: inout Int) {
    var seen = Set<String>()
    for name in names + p.root.fields.prefix(16).map(\.key) where seen.insert(name).inserted {
        _ = try? p.integer(name)
        _ = try? p.string(name)
        _ = try? p.array(name)
        _ = try? p.stringList(name)
        _ = try? p.time(name)
        _ = try? p.flag(name)
        if budget > 0, let o = try? p.object(name) {
            budget -= 1
            exercise(o, budget: &budget)
        }
    }
}

func fuzzQueryParameters(_ input: UnsafeRawBufferPointer) {
    let body = Array(input)
    let params: RequestParameters
    do { params = try RequestParameters.fromBody(body) } catch { return }
    precondition(!params.fromQueryString && params.body == body)
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
    static func fuzz(_ input: UnsafeRawBufferPointer) { fuzzQueryParameters(input) }
}
