import AuditModel
import AuditServer
import AuditStore
import Logging
import XCTest

final class RetentionServiceTests: XCTestCase {
    final class Clock: @unchecked Sendable {
        var now: Int64
        init(_ now: Int64) { self.now = now }
    }

    func event(_ account: Int64, _ id: String, _ time: Int64) -> AuditEvent {
        AuditEvent(record: Array(#"{"eventId":"\#(id)"}"#.utf8), eventId: id, eventTime: time, accountId: account, postings: [(.all, ""), (.eventId, id)])
    }

    /// Each account keeps its own retention; the default applies to the others; only whole hours past
    /// the retention are dropped.
    func testDropsEventsPastEachAccountsRetention() async throws {
        let clock = Clock(1_800_000_000)
        let store = MemoryEventStore(clock: { clock.now })
        let short = try await store.createAccount(name: "short", retentionDays: 1, id: nil).id
        let long = try await store.createAccount(name: "long", retentionDays: nil, id: nil).id
        let t0 = clock.now
        _ = try await store.append([event(short, "s-old", t0 - 10), event(short, "s-new", t0 + 2 * 86400 - 10),
                                    event(long, "l-old", t0 - 10), event(long, "l-new", t0 + 2 * 86400 - 10)])
        let service = RetentionService(storage: Storage(store), defaultRetentionDays: 30, interval: .seconds(60), logger: Logger(label: "test"),
                                       clock: { clock.now })
        clock.now = t0 + 2 * 86400
        let dropped = try await service.runOnce()
        XCTAssertEqual(dropped, 1)
        func ids(_ a: Int64) async throws -> [String] {
            try await store.lookup(EventQuery(accountId: a, startTime: 0, endTime: clock.now, limit: 10)).events.map(\.eventId)
        }
        let shortIds = try await ids(short)
        let longIds = try await ids(long)
        XCTAssertEqual(shortIds, ["s-new"])
        XCTAssertEqual(longIds, ["l-new", "l-old"])
        // Whole hours only: an event 5 minutes past a 1-day retention survives until its hour is fully past.
        clock.now += 600
        _ = try await store.append([event(short, "edge", clock.now - 86400 - 300)])
        let again = try await service.runOnce()
        XCTAssertEqual(again, 0, "the hour that holds the cutoff is kept")
        clock.now += 3600
        let later = try await service.runOnce()
        XCTAssertEqual(later, 1)
    }
}
