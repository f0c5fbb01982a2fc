@testable import AuditAlerts
import AuditModel
import AuditStore
import XCTest

/// Rules over replayed event streams with known answers.
final class RuleEvaluatorTests: XCTestCase {
    func event(_ seq: Int64, at time: Int64, name: String = "ConsoleLogin", user: String = "alice", failed: Bool = true,
               type: String = "ConsoleCall") -> EvaluatedEvent {
        EvaluatedEvent(sequence: seq, eventId: "e\(seq)", eventTime: time,
                       postings: [(.all, ""), (.eventName, name), (.username, user), (.camErrorCode, failed ? "4102" : "0")], eventType: type)
    }

    func rule(threshold: AlertThreshold?, errorOnly: Bool = true, cursor: Int64 = 0) -> StoredAlertRule {
        let spec = AlertRuleSpec(name: "sign-ins", severity: .warning,
                                 conditions: [AlertCondition(attributeKey: "EventName", attributeValue: "ConsoleLogin", key: .eventName, values: ["ConsoleLogin"])],
                                 errorOnly: errorOnly, threshold: threshold, channelIds: [], enabled: true)
        return StoredAlertRule(accountId: 1, id: 7, spec: spec, createdAt: 0, updatedAt: 0, cursor: cursor)
    }

    func testWithoutAThresholdEachMatchingEventFiresOnce() {
        let r = RuleEvaluator(rule: rule(threshold: nil, cursor: 1))
        var state = RuleEvaluator.State()
        let events = [event(1, at: 100), event(2, at: 101), event(3, at: 102, failed: false), event(4, at: 103, name: "Other"),
                      event(5, at: 104), event(6, at: 105, type: "CloudAuditAlert")]
        let fired = r.evaluate(events, state: &state, now: 1000)
        XCTAssertEqual(fired.map(\.id), ["r7-s2", "r7-s5"], "after the cursor, matching, failed, never an alert event")
        XCTAssertEqual(fired.map(\.eventIds), [["e2"], ["e5"]])
        XCTAssertEqual(fired.first?.alertEventId, "cloudaudit-alert-1-r7-s2")
    }

    func testAThresholdFiresOncePerGroupThenIsQuietForTheWindow() {
        let r = RuleEvaluator(rule: rule(threshold: AlertThreshold(count: 3, windowSeconds: 60, groupBy: "Username")))
        var state = RuleEvaluator.State()
        var seq: Int64 = 0
        func e(_ t: Int64, _ user: String) -> EvaluatedEvent { seq += 1; return event(seq, at: t, user: user) }
        // alice: 3 within 60 s -> one alert; 2 more inside the quiet window -> none; bob: 2 -> none.
        let first = r.evaluate([e(1000, "alice"), e(1010, "bob"), e(1020, "alice"), e(1030, "alice"), e(1040, "alice"), e(1050, "bob")],
                               state: &state, now: 2000)
        XCTAssertEqual(first.map(\.group), ["alice"])
        XCTAssertEqual(first.first?.eventIds, ["e1", "e3", "e4"])
        XCTAssertEqual(first.first?.count, 3)
        XCTAssertEqual(first.first?.firedAt, 1030)
        // Across passes (the state carried as bytes): bob's third within the window fires; alice again only
        // after her quiet window (1030 + 60) with three new ones.
        var carried = RuleEvaluator.State.decode(state.encoded())
        let second = r.evaluate([e(1060, "bob"), e(1080, "alice"), e(1095, "alice"), e(1100, "alice"), e(1110, "alice")], state: &carried, now: 2000)
        XCTAssertEqual(second.map(\.group), ["bob", "alice"])
        XCTAssertEqual(second.last?.eventIds, ["e9", "e10", "e11"], "e8 (1080) is inside alice's quiet window")
    }

    func testSpreadOutEventsAndLateArrivals() {
        let r = RuleEvaluator(rule: rule(threshold: AlertThreshold(count: 3, windowSeconds: 60, groupBy: nil)))
        var state = RuleEvaluator.State()
        // Never 3 within 60 s: no alert.
        let spread = r.evaluate([event(1, at: 1000), event(2, at: 1045), event(3, at: 1100), event(4, at: 1150)], state: &state, now: 2000)
        XCTAssertEqual(spread, [])
        // Out of time order but within the window of the newest (1150): counts, and fires.
        let late = r.evaluate([event(5, at: 1120)], state: &state, now: 2000)
        XCTAssertEqual(late.map(\.eventIds), [["e3", "e5", "e4"]], "kept in time order")
        XCTAssertNil(late.first?.group, "no GroupBy: one group, none named")
        // Later than the window behind the newest: it no longer counts.
        var fresh = RuleEvaluator.State()
        XCTAssertEqual(r.evaluate([event(6, at: 5000), event(7, at: 5001), event(8, at: 4000), event(9, at: 4001)], state: &fresh, now: 6000), [])
    }

    func testStateStaysBounded() {
        let r = RuleEvaluator(rule: rule(threshold: AlertThreshold(count: 5, windowSeconds: 3600, groupBy: "Username")))
        var state = RuleEvaluator.State()
        let events = (1...3000).map { event(Int64($0), at: 1000 + Int64($0), user: "u\($0)") }
        XCTAssertEqual(r.evaluate(events, state: &state, now: 9000), [])
        XCTAssertEqual(state.groups.count, RuleEvaluator.maxGroups, "the oldest groups go beyond the bound")
        XCTAssertNotNil(state.groups["u3000"])
        XCTAssertNil(state.groups["u1"])
    }
}
