import AuditModel
import AuditStore
import XCTest

/// Alert channels, rules, fired alerts and their deliveries: the same answers from every backend.
extension StoreConformance {
    func channel(_ account: Int64, _ id: Int64, _ name: String, type: AlertChannelType = .webhook) -> StoredAlertChannel {
        StoredAlertChannel(accountId: account, id: id, name: name, type: type, config: Array(#"{"Url":"http://127.0.0.1:1/x"}"#.utf8),
                           createdAt: now, updatedAt: now)
    }

    func rule(_ account: Int64, _ id: Int64, _ name: String, cursor: Int64 = 0) -> StoredAlertRule {
        let spec = AlertRuleSpec(name: name, severity: .warning,
                                 conditions: [AlertCondition(attributeKey: "EventName", attributeValue: "DeleteBucket", key: .eventName, values: ["DeleteBucket"])],
                                 errorOnly: false, threshold: AlertThreshold(count: 3, windowSeconds: 60, groupBy: "Username"), channelIds: [7], enabled: true)
        return StoredAlertRule(accountId: account, id: id, spec: spec, createdAt: now, updatedAt: now, cursor: cursor)
    }

    func firedAlert(_ account: Int64, _ id: String, rule: Int64, at: Int64, severity: AlertSeverity = .warning) -> FiredAlert {
        FiredAlert(accountId: account, id: id, ruleId: rule, ruleName: "r\(rule)", severity: severity, firedAt: at, eventIds: ["e1", "e2"],
                   group: "alice", count: 2, alertEventId: "alert-\(id)", createdAt: now)
    }

    func alertChannelsAndRulesBelongToTheirAccount() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let b = try await s.accounts.createAccount(name: "b", retentionDays: nil, id: nil).id
        try await s.alerts.createAlertChannel(channel(a, 2, "ops"), limit: 3)
        try await s.alerts.createAlertChannel(channel(a, 1, "mail", type: .email), limit: 3)
        try await s.alerts.createAlertChannel(channel(b, 1, "ops"), limit: 3)  // names and ids are per account
        let ofA = try await s.alerts.alertChannels(accountId: a)
        XCTAssertEqual(ofA, [channel(a, 1, "mail", type: .email), channel(a, 2, "ops")], "a channel reads back exactly, by id")
        do {
            try await s.alerts.createAlertChannel(channel(a, 3, "ops"), limit: 3)
            XCTFail("a second channel named ops")
        } catch let e as StoreError { XCTAssertEqual(e.code, .alertNameExists) }
        try await s.alerts.createAlertChannel(channel(a, 3, "third"), limit: 3)
        do {
            try await s.alerts.createAlertChannel(channel(a, 4, "fourth"), limit: 3)
            XCTFail("over the limit")
        } catch let e as StoreError { XCTAssertEqual(e.code, .alertQuota) }
        var renamed = channel(a, 3, "renamed")
        renamed.config = Array(#"{"To":["x@example.com"]}"#.utf8)
        renamed.updatedAt = now + 5
        let updated = try await s.alerts.updateAlertChannel(renamed)
        XCTAssertTrue(updated)
        do {
            _ = try await s.alerts.updateAlertChannel(channel(a, 3, "mail"))
            XCTFail("renamed onto another channel's name")
        } catch let e as StoreError { XCTAssertEqual(e.code, .alertNameExists) }
        let notTheirs = try await s.alerts.updateAlertChannel(channel(b, 3, "x"))
        XCTAssertFalse(notTheirs, "b has no channel 3")
        let deletedOther = try await s.alerts.deleteAlertChannel(accountId: b, id: 2)
        XCTAssertFalse(deletedOther, "b cannot delete a's channel 2")
        let deleted = try await s.alerts.deleteAlertChannel(accountId: a, id: 2)
        XCTAssertTrue(deleted)
        let left = try await s.alerts.alertChannels(accountId: a).map(\.name)
        XCTAssertEqual(left, ["mail", "renamed"])
        let ofB = try await s.alerts.alertChannels(accountId: b).map(\.name)
        XCTAssertEqual(ofB, ["ops"])

        try await s.alerts.createAlertRule(rule(a, 10, "deletes", cursor: 40), limit: 2)
        try await s.alerts.createAlertRule(rule(b, 10, "deletes"), limit: 2)
        do {
            try await s.alerts.createAlertRule(rule(a, 11, "deletes"), limit: 2)
            XCTFail("a second rule named deletes")
        } catch let e as StoreError { XCTAssertEqual(e.code, .alertNameExists) }
        try await s.alerts.createAlertRule(rule(a, 11, "other"), limit: 2)
        do {
            try await s.alerts.createAlertRule(rule(a, 12, "third"), limit: 2)
            XCTFail("over the limit")
        } catch let e as StoreError { XCTAssertEqual(e.code, .alertQuota) }
        let rulesOfA = try await s.alerts.alertRules(accountId: a)
        XCTAssertEqual(rulesOfA, [rule(a, 10, "deletes", cursor: 40), rule(a, 11, "other")], "a rule reads back exactly, spec and cursor")
        let all = try await s.alerts.alertRules(accountId: nil).map { [$0.accountId, $0.id] }
        XCTAssertEqual(all, [[a, 10], [a, 11], [b, 10]])
        // A modification keeps the cursor and clears the state.
        try await s.alerts.commitAlertEvaluation(accountId: a, progress: [RuleProgress(ruleId: 10, version: now, cursor: 55, state: [1, 2, 3])],
                                                 alerts: [], deliveries: [])
        var spec = rule(a, 10, "deletes").spec
        spec.severity = .critical
        spec.enabled = false
        let modified = try await s.alerts.updateAlertRule(accountId: a, id: 10, spec: spec, updatedAt: now + 9)
        XCTAssertTrue(modified)
        let after = try await s.alerts.alertRules(accountId: a).first { $0.id == 10 }
        XCTAssertEqual(after?.spec, spec)
        XCTAssertEqual(after?.updatedAt, now + 9)
        XCTAssertEqual(after?.cursor, 55)
        XCTAssertEqual(after?.state, [])
        let notTheirRule = try await s.alerts.updateAlertRule(accountId: b, id: 11, spec: spec, updatedAt: now)
        XCTAssertFalse(notTheirRule)
        let ruleDeletedByB = try await s.alerts.deleteAlertRule(accountId: b, id: 11)
        XCTAssertFalse(ruleDeletedByB)
        let ruleDeleted = try await s.alerts.deleteAlertRule(accountId: a, id: 11)
        XCTAssertTrue(ruleDeleted)
        let rulesLeft = try await s.alerts.alertRules(accountId: a).map(\.id)
        XCTAssertEqual(rulesLeft, [10])
        try await s.close()
    }

    func alertEvaluationsCommitOnce() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let b = try await s.accounts.createAccount(name: "b", retentionDays: nil, id: nil).id
        try await s.alerts.createAlertChannel(channel(a, 7, "ops"), limit: 5)
        try await s.alerts.createAlertChannel(channel(a, 8, "mail", type: .email), limit: 5)
        try await s.alerts.createAlertRule(rule(a, 10, "deletes"), limit: 5)
        try await s.alerts.createAlertRule(rule(a, 11, "other"), limit: 5)
        let x = firedAlert(a, "10-5", rule: 10, at: now - 30)
        let y = firedAlert(a, "10-9", rule: 10, at: now - 10, severity: .critical)
        let deliveries = [AlertDelivery(accountId: a, alertId: x.id, channelId: 7, nextAttemptAt: now),
                          AlertDelivery(accountId: a, alertId: x.id, channelId: 8, nextAttemptAt: now),
                          AlertDelivery(accountId: a, alertId: y.id, channelId: 7, nextAttemptAt: now)]
        try await s.alerts.commitAlertEvaluation(accountId: a, progress: [RuleProgress(ruleId: 10, version: now, cursor: 9, state: Array("s1".utf8)),
                                                                          RuleProgress(ruleId: 11, version: now - 1, cursor: 9, state: [9])],
                                                 alerts: [x, y], deliveries: deliveries)
        let rules = try await s.alerts.alertRules(accountId: a)
        XCTAssertEqual(rules.map(\.cursor), [9, 0], "a rule evaluated at another version keeps its cursor")
        XCTAssertEqual(rules[0].state, Array("s1".utf8))
        XCTAssertEqual(rules[1].state, [])
        let queued = try await s.alerts.queuedAlertDeliveries(accountId: a)
        XCTAssertEqual(queued.count, 3)
        // The same alerts again (a node that died before its cursor moved): stored once, queued once.
        let pending = try await s.alerts.pendingAlertDeliveries(dueBy: now, limit: 10)
        XCTAssertEqual(pending.count, 3)
        for d in pending { try await s.alerts.finishAlertDelivery(accountId: d.accountId, alertId: d.alertId, channelId: d.channelId) }
        try await s.alerts.commitAlertEvaluation(accountId: a, progress: [RuleProgress(ruleId: 10, version: now, cursor: 12, state: [])],
                                                 alerts: [x, y], deliveries: deliveries)
        let requeued = try await s.alerts.queuedAlertDeliveries(accountId: a)
        XCTAssertEqual(requeued, [], "an alert stored before is not sent again")
        let cursor = try await s.alerts.alertRules(accountId: a)[0].cursor
        XCTAssertEqual(cursor, 12)

        let listed = try await s.alerts.alerts(accountId: a, from: now - 60, to: now, ruleId: nil, severity: nil, offset: 0, limit: 10)
        XCTAssertEqual(listed.alerts, [y, x], "newest first, read back exactly")
        XCTAssertEqual(listed.total, 2)
        let page = try await s.alerts.alerts(accountId: a, from: now - 60, to: now, ruleId: 10, severity: nil, offset: 1, limit: 1)
        XCTAssertEqual(page.alerts, [x])
        XCTAssertEqual(page.total, 2)
        let critical = try await s.alerts.alerts(accountId: a, from: now - 60, to: now, ruleId: nil, severity: .critical, offset: 0, limit: 10)
        XCTAssertEqual(critical.alerts, [y])
        let narrow = try await s.alerts.alerts(accountId: a, from: now - 20, to: now, ruleId: nil, severity: nil, offset: 0, limit: 10)
        XCTAssertEqual(narrow.alerts, [y], "by firedAt, inclusive bounds")
        let otherRule = try await s.alerts.alerts(accountId: a, from: now - 60, to: now, ruleId: 11, severity: nil, offset: 0, limit: 10)
        XCTAssertEqual(otherRule.total, 0)
        let ofB = try await s.alerts.alerts(accountId: b, from: 0, to: now * 2, ruleId: nil, severity: nil, offset: 0, limit: 10)
        XCTAssertEqual(ofB.total, 0, "another account sees none")
        let one = try await s.alerts.alert(accountId: a, id: x.id)
        XCTAssertEqual(one, x)
        let notB = try await s.alerts.alert(accountId: b, id: x.id)
        XCTAssertNil(notB)
        // A deleted rule's alerts stay.
        _ = try await s.alerts.deleteAlertRule(accountId: a, id: 10)
        let kept = try await s.alerts.alerts(accountId: a, from: 0, to: now * 2, ruleId: 10, severity: nil, offset: 0, limit: 10).total
        XCTAssertEqual(kept, 2)

        guard s.leases.fencesWrites else { return try await s.close() }
        let claimed = try await s.leases.claimLease("alerts:\(a)", holder: "n1", ttl: 30, now: now)
        let lost = try XCTUnwrap(claimed)
        _ = try await s.leases.claimLease("alerts:\(a)", holder: "n2", ttl: 30, now: now + 31)
        do {
            try await Lease.$current.withValue(lost) {
                try await s.alerts.commitAlertEvaluation(accountId: a, progress: [RuleProgress(ruleId: 11, version: now, cursor: 99, state: [])],
                                                         alerts: [firedAlert(a, "11-99", rule: 11, at: now)], deliveries: [])
            }
            XCTFail("a node that lost its lease committed an evaluation")
        } catch let e as StoreError { XCTAssertEqual(e.code, .leaseLost) }
        let untouched = try await s.alerts.alert(accountId: a, id: "11-99")
        XCTAssertNil(untouched)
        try await s.close()
    }

    func alertDeliveriesAreClaimedAndRetried() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        try await s.alerts.createAlertChannel(channel(a, 7, "ops"), limit: 5)
        try await s.alerts.createAlertChannel(channel(a, 8, "other"), limit: 5)
        let alerts = (1...3).map { firedAlert(a, "r-\($0)", rule: 1, at: now - Int64($0)) }
        let deliveries = [AlertDelivery(accountId: a, alertId: "r-1", channelId: 7, nextAttemptAt: now - 3),
                          AlertDelivery(accountId: a, alertId: "r-2", channelId: 7, nextAttemptAt: now - 2),
                          AlertDelivery(accountId: a, alertId: "r-3", channelId: 8, nextAttemptAt: now + 50)]
        try await s.alerts.commitAlertEvaluation(accountId: a, progress: [], alerts: alerts, deliveries: deliveries)
        let first = try await s.alerts.pendingAlertDeliveries(dueBy: now, limit: 1)
        XCTAssertEqual(first.map(\.alertId), ["r-1"], "oldest due first, at most limit")
        let next = try await s.alerts.pendingAlertDeliveries(dueBy: now, limit: 10)
        XCTAssertEqual(next.map(\.alertId), ["r-2"], "a claimed delivery is not handed out again; a future one not yet")
        let none = try await s.alerts.pendingAlertDeliveries(dueBy: now + 10, limit: 10)
        XCTAssertEqual(none, [])
        try await s.alerts.postponeAlertDelivery(accountId: a, alertId: "r-1", channelId: 7, until: now + 20, error: "HTTP 503")
        let again = try await s.alerts.pendingAlertDeliveries(dueBy: now + 20, limit: 10)
        XCTAssertEqual(again.map(\.alertId), ["r-1"], "a postponed delivery is due at its time")
        XCTAssertEqual(again.first?.attempts, 1)
        XCTAssertEqual(again.first?.lastError, "HTTP 503")
        // The claim of r-2 runs out: a claimer that died leaves it to the next.
        let reclaimed = try await s.alerts.pendingAlertDeliveries(dueBy: now + QueuedNotification.claimSeconds + 1, limit: 10)
        XCTAssertEqual(Set(reclaimed.map(\.alertId)), ["r-2", "r-3"])
        try await s.alerts.finishAlertDelivery(accountId: a, alertId: "r-2", channelId: 7)
        _ = try await s.alerts.deleteAlertChannel(accountId: a, id: 8)
        let left = try await s.alerts.queuedAlertDeliveries(accountId: a).map(\.alertId)
        XCTAssertEqual(left, ["r-1"], "finished and deleted channels' deliveries are gone")
        try await s.close()
    }
}
