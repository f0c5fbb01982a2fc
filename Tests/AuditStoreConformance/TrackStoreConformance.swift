import AuditModel
import AuditStore
import XCTest

/// Tracking sets, delivery cursors, the notification outbox and sequence reads: the same answers
/// from every backend.
extension StoreConformance {
    func sampleTrack(_ account: Int64, _ name: String, allMembers: Bool = false) -> Track {
        Track(accountId: account, name: name, enabled: true, storage: TrackStorage(region: "local", name: "bucket", prefix: "logs"),
              filters: [TrackFilter(actionType: "Write", resourceType: "cvm", eventNames: ["RunInstances"])], trackForAllMembers: allMembers)
    }

    func eventsBySequence() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let b = try await s.accounts.createAccount(name: "b", retentionDays: nil, id: nil).id
        let v1 = try await s.events.lastSequence(accountId: a)
        XCTAssertEqual(v1, 0)
        _ = try await s.events.append((0..<10).map { event(a, id: "a\($0)", time: now - 100 + Int64($0)) } + [event(b, id: "b0", time: now)])
        let v2 = try await s.events.lastSequence(accountId: a)
        XCTAssertEqual(v2, 10)
        let v3 = try await s.events.lastSequence(accountId: b)
        XCTAssertEqual(v3, 1)
        let page = try await s.events.events(accountId: a, afterSequence: 3, limit: 4)
        XCTAssertEqual(page.map(\.sequence), [4, 5, 6, 7])
        XCTAssertEqual(page.map(\.eventId), ["a3", "a4", "a5", "a6"])
        XCTAssertEqual(String(decoding: page[0].record, as: UTF8.self).contains(#""eventId":"a3""#), true)
        let v4 = try await s.events.events(accountId: a, afterSequence: 10, limit: 5).count
        XCTAssertEqual(v4, 0)
        let v5 = try await s.events.events(accountId: b, afterSequence: 0, limit: 5).map(\.eventId)
        XCTAssertEqual(v5, ["b0"])
        try await s.close()
    }

    func tracksHaveQuotaUniqueNamesAndOwners() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let b = try await s.accounts.createAccount(name: "b", retentionDays: nil, id: nil).id
        let t1 = try await s.tracks.createTrack(sampleTrack(a, "one"), quota: 2)
        XCTAssertGreaterThan(t1.id, 0)
        XCTAssertGreaterThan(t1.createdAt, 0)
        do {
            _ = try await s.tracks.createTrack(sampleTrack(a, "one"), quota: 2)
            XCTFail("a duplicate name must be refused")
        } catch let e as StoreError { XCTAssertEqual(e.code, StoreError.trackNameExists("").code) }
        let t2 = try await s.tracks.createTrack(sampleTrack(a, "two"), quota: 2)
        do {
            _ = try await s.tracks.createTrack(sampleTrack(a, "three"), quota: 2)
            XCTFail("the quota must hold")
        } catch let e as StoreError { XCTAssertEqual(e.code, StoreError.trackQuota(0).code) }
        // Another account has its own names and quota.
        let tb = try await s.tracks.createTrack(sampleTrack(b, "one"), quota: 2)
        let v6 = try await s.tracks.tracks(accountId: a).map(\.id)
        XCTAssertEqual(v6, [t1.id, t2.id])
        let v7 = try await s.tracks.tracks(accountId: nil).map(\.id)
        XCTAssertEqual(v7, [t1.id, t2.id, tb.id])
        let v8 = try await s.tracks.track(accountId: b, name: "one")?.id
        XCTAssertEqual(v8, tb.id)
        let v9 = try await s.tracks.track(id: t1.id)
        XCTAssertEqual(v9, t1)

        var changed = t1
        changed.enabled = false
        changed.name = "renamed"
        changed.filters = [TrackFilter(actionType: "*", resourceType: "*", eventNames: ["*"])]
        let v10 = try await s.tracks.updateTrack(changed)
        XCTAssertTrue(v10)
        let read = try await s.tracks.track(id: t1.id)
        XCTAssertEqual(read?.name, "one", "the name never changes")
        XCTAssertEqual(read?.enabled, false)
        XCTAssertEqual(read?.filters, changed.filters)

        let v11 = try await s.tracks.deleteTrack(id: t1.id)
        XCTAssertTrue(v11)
        let v12 = try await s.tracks.deleteTrack(id: t1.id)
        XCTAssertFalse(v12)
        let v13 = try await s.tracks.track(id: t1.id)
        XCTAssertNil(v13)
        let v14 = try await s.tracks.deliveryStates(trackId: t1.id)
        XCTAssertEqual(v14, [])
        var gone = t1
        gone.enabled = true
        let v15 = try await s.tracks.updateTrack(gone)
        XCTAssertFalse(v15)
        try await s.close()
    }

    func cursorsStartAtCreation() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        _ = try await s.events.append((0..<5).map { event(a, id: "e\($0)", time: now) })
        let t = try await s.tracks.createTrack(sampleTrack(a, "late"), quota: 5)
        let states = try await s.tracks.deliveryStates(trackId: t.id)
        XCTAssertEqual(states.map(\.accountId), [a])
        XCTAssertEqual(states.first?.deliveredSequence, 5, "a set never delivers events from before its creation")
        try await s.close()
    }

    func memberCursors() async throws {
        let s = try await makeStorage()
        let org = try await s.accounts.createAccount(name: "org", retentionDays: nil, id: nil).id
        let m1 = try await s.accounts.createAccount(name: "m1", retentionDays: nil, id: nil, memberOf: org).id
        do {
            _ = try await s.accounts.createAccount(name: "nested", retentionDays: nil, id: nil, memberOf: m1)
            XCTFail("a member cannot have members")
        } catch is StoreError {}
        let v16 = try await s.accounts.account(id: m1)?.memberOf
        XCTAssertEqual(v16, org)
        let v17 = try await s.accounts.members(of: org).map(\.id)
        XCTAssertEqual(v17, [m1])
        _ = try await s.events.append([event(m1, id: "old", time: now)])
        let single = try await s.tracks.createTrack(sampleTrack(org, "own"), quota: 5)
        let v18 = try await s.tracks.deliveryStates(trackId: single.id).map(\.accountId)
        XCTAssertEqual(v18, [org])
        let all = try await s.tracks.createTrack(sampleTrack(org, "all", allMembers: true), quota: 5)
        let states = try await s.tracks.deliveryStates(trackId: all.id)
        XCTAssertEqual(states.map(\.accountId), [org, m1])
        XCTAssertEqual(states.map(\.deliveredSequence), [0, 1])
        // Turning it on later starts the members' cursors then.
        _ = try await s.events.append([event(m1, id: "between", time: now)])
        var widened = single
        widened.trackForAllMembers = true
        let v19 = try await s.tracks.updateTrack(widened)
        XCTAssertTrue(v19)
        let v20 = try await s.tracks.deliveryStates(trackId: single.id).map(\.deliveredSequence)
        XCTAssertEqual(v20, [0, 2])
        // A member that joins later is covered from its first event by the sets that cover members.
        let m2 = try await s.accounts.createAccount(name: "m2", retentionDays: nil, id: nil, memberOf: org).id
        let joined = try await s.tracks.deliveryStates(trackId: all.id).first { $0.accountId == m2 }
        XCTAssertEqual(joined?.deliveredSequence, 0)
        let notCovering = try await s.tracks.deliveryStates(trackId: s.tracks.track(accountId: org, name: "own")!.id).map(\.accountId)
        XCTAssertEqual(notCovering, [org, m1, m2], "own was widened to members above")
        try await s.close()
    }

    func deliveryStateAndOutbox() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let t = try await s.tracks.createTrack(sampleTrack(a, "set"), quota: 5)
        var st = try await s.tracks.deliveryStates(trackId: t.id)[0]
        st.pendingFirstSequence = 1
        st.pendingKeyTime = now
        try await s.tracks.saveDeliveryState(st, expectedSequence: 0, notifications: [])
        let v21 = try await s.tracks.deliveryStates(trackId: t.id)[0]
        XCTAssertEqual(v21, st)
        st.deliveredSequence = 7
        st.pendingFirstSequence = nil
        st.pendingKeyTime = nil
        st.files = 1
        st.events = 3
        st.lastError = nil
        let message = OutgoingNotification(channel: "local/q1", body: Array(#"{"k":1}"#.utf8), messageId: "m1")
        try await s.tracks.saveDeliveryState(st, expectedSequence: 0, notifications: [message, OutgoingNotification(channel: "local/q2", body: [1], messageId: "m1")])
        let v22 = try await s.tracks.deliveryStates(trackId: t.id)[0]
        XCTAssertEqual(v22, st)
        do {
            try await s.tracks.saveDeliveryState(st, expectedSequence: 0, notifications: [message])
            XCTFail("a cursor that moved must not be overwritten")
        } catch let e as StoreError { XCTAssertEqual(e, .cursorMoved) }

        var due = try await s.outbox.pendingNotifications(dueBy: now, limit: 10)
        XCTAssertEqual(due.map(\.channel), ["local/q1", "local/q2"], "the failed save queued nothing")
        XCTAssertEqual(due[0].body, message.body)
        XCTAssertEqual(due[0].trackId, t.id)
        let v23 = try await s.outbox.pendingNotificationCounts()
        XCTAssertEqual(v23, [t.id: 2])
        // Claimed: not handed out again (to another node either) until the claim runs out.
        let again = try await s.outbox.pendingNotifications(dueBy: now, limit: 10)
        XCTAssertEqual(again, [], "a claimed notification was handed out twice")
        try await s.outbox.postponeNotification(id: due[0].id, until: now + 600, error: "HTTP 500")
        due = try await s.outbox.pendingNotifications(dueBy: now + QueuedNotification.claimSeconds, limit: 10)
        XCTAssertEqual(due.map(\.channel), ["local/q2"], "a claim that ran out (a claimer that died) is claimed again; a postponed one waits")
        let later = try await s.outbox.pendingNotifications(dueBy: now + 600, limit: 10)
        XCTAssertEqual(later.first { $0.channel == "local/q1" }?.attempts, 1)
        try await s.outbox.acknowledgeNotification(id: due[0].id)
        let v24 = try await s.outbox.pendingNotificationCounts()
        XCTAssertEqual(v24, [t.id: 1])

        // Deleting the set drops its state and queue; a late save for it writes nothing.
        let v25 = try await s.tracks.deleteTrack(id: t.id)
        XCTAssertTrue(v25)
        try await s.tracks.saveDeliveryState(st, expectedSequence: nil, notifications: [message])
        let v26 = try await s.tracks.deliveryStates(trackId: nil)
        XCTAssertEqual(v26, [])
        let v27 = try await s.outbox.pendingNotificationCounts()
        XCTAssertEqual(v27, [:])
        try await s.close()
    }

    /// Leases on shared work: one holder at a time, renewals keep the token, a change of holder grows it,
    /// a release frees it at once; a shared store refuses the cursor moves of a holder that lost it.
    func leasesGoToOneHolderAndFenceTheLosers() async throws {
        let s = try await makeStorage()
        let held = try await s.leases.claimLease("track:1", holder: "a", ttl: 30, now: now)
        let first = try XCTUnwrap(held, "a free lease is granted")
        XCTAssertEqual(first.expiresAt, now + 30)
        let refused = try await s.leases.claimLease("track:1", holder: "b", ttl: 30, now: now + 1)
        XCTAssertNil(refused, "a running lease is not granted to another holder")
        let other = try await s.leases.claimLease("track:2", holder: "b", ttl: 30, now: now + 1)
        XCTAssertNotNil(other, "leases are per name")
        let renewed = try await s.leases.claimLease("track:1", holder: "a", ttl: 30, now: now + 10)
        XCTAssertEqual(renewed, Lease(name: "track:1", token: first.token, expiresAt: now + 40), "a renewal keeps the token")
        let takenOver = try await s.leases.claimLease("track:1", holder: "b", ttl: 30, now: now + 41)
        let second = try XCTUnwrap(takenOver, "an expired lease goes to the next claimer")
        XCTAssertGreaterThan(second.token, first.token, "the fencing token grows with the holder")
        try await s.leases.releaseLease("track:1", holder: "a")  // not a's any more: nothing happens
        let stillB = try await s.leases.claimLease("track:1", holder: "a", ttl: 30, now: now + 42)
        XCTAssertNil(stillB, "only the holder releases a lease")
        try await s.leases.releaseLease("track:1", holder: "b")
        let back = try await s.leases.claimLease("track:1", holder: "a", ttl: 30, now: now + 43)
        let third = try XCTUnwrap(back, "a released lease is free at once")
        XCTAssertGreaterThan(third.token, second.token)
        let huge = try await s.leases.claimLease("far", holder: "a", ttl: 30, now: Int64.max - 1)
        XCTAssertEqual(huge?.expiresAt, Int64.max, "expiry saturates")

        guard s.leases.fencesWrites else { return try await s.close() }
        let acct = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let t = try await s.tracks.createTrack(sampleTrack(acct, "set"), quota: 5)
        let name = "track:\(t.id)"
        let claimed = try await s.leases.claimLease(name, holder: "a", ttl: 30, now: now)
        let lost = try XCTUnwrap(claimed)
        var st = try await s.tracks.deliveryStates(trackId: t.id)[0]
        st.deliveredSequence = 5
        try await Lease.$current.withValue(lost) { try await s.tracks.saveDeliveryState(st, expectedSequence: 0, notifications: []) }
        let taken = try await s.leases.claimLease(name, holder: "b", ttl: 30, now: now + 31)
        XCTAssertNotNil(taken)
        st.deliveredSequence = 9
        do {
            try await Lease.$current.withValue(lost) { try await s.tracks.saveDeliveryState(st, expectedSequence: 5, notifications: []) }
            XCTFail("a holder that lost its lease moved the cursor")
        } catch let e as StoreError { XCTAssertEqual(e.code, .leaseLost) }
        let kept = try await s.tracks.deliveryStates(trackId: t.id)[0].deliveredSequence
        XCTAssertEqual(kept, 5)
        try await s.close()
    }
}
