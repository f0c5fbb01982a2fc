import AuditIntegrity
import AuditModel

/// An in-memory store: the reference behaviour for the conformance suite, and a fast store for tests.
public actor MemoryEventStore: StorageBackend {
    struct Row {
        var event: StoredEvent
        var postings: Set<PostingValue>
    }

    struct PostingValue: Hashable {
        var key: LookupKey
        var value: String
    }

    private var accounts: [Int64: Account] = [:]
    let alertStore = MemoryAlertStore()
    private var keys: [String: StoredAccessKey] = [:]
    private var managedKeys: [String: KmsKey] = [:]
    private var passwords: [String: ConsolePassword] = [:]
    private var sessions: [[UInt8]: ConsoleSession] = [:]
    private var rows: [Row] = []
    private var byEventId: [Int64: [String: Int64]] = [:]
    private var nextSequence: [Int64: Int64] = [:]
    private var merkle: [Int64: CompactRange] = [:]
    private var merkleNodes: [Int64: [MerkleNode: MerkleHash]] = [:]
    private var checkpoints: [Int64: [Int64: StoredCheckpoint]] = [:]
    private var tracks: [Int64: Track] = [:]
    private var states: [DeliveryKey: DeliveryState] = [:]
    private var outbox: [QueuedNotification] = []
    private var outboxDue: [Int64: Int64] = [:]
    private var nextTrackId: Int64 = 1
    private var nextNotificationId: Int64 = 1
    private var cursors: [Int64: (accountId: Int64, payload: [UInt8], expiresAt: Int64)] = [:]
    private let secret: [UInt8] = (0..<32).map { _ in UInt8.random(in: 0...255) }
    private let clock: @Sendable () -> Int64

    public init(clock: @escaping @Sendable () -> Int64 = unixNow) {
        self.clock = clock
    }

    public func createAccount(name: String, retentionDays: Int?, id: Int64?, memberOf: Int64?) async throws -> Account {
        let newId = id ?? max(AccountIds.first, (accounts.keys.max() ?? (AccountIds.first - 1)) + 1)
        if let existing = accounts[newId] { return existing }
        if let holder = AccountRules.holder(of: name, in: Array(accounts.values), except: nil) { throw StoreError.accountNameExists(holder) }
        if let memberOf { try AccountRules.checkManagement(accounts[memberOf], id: memberOf) }
        let a = Account(id: newId, name: name, retentionDays: retentionDays, createdAt: clock(), memberOf: memberOf)
        accounts[newId] = a
        for t in tracks.values where t.accountId == memberOf && t.trackForAllMembers { startCursors(of: t) }
        return a
    }

    public func account(id: Int64) async throws -> Account? { accounts[id] }
    public func listAccounts() async throws -> [Account] { accounts.values.sorted { $0.id < $1.id } }

    public func renameAccount(id: Int64, name: String) async throws -> Account? {
        guard accounts[id] != nil else { return nil }
        if let holder = AccountRules.holder(of: name, in: Array(accounts.values), except: id) { throw StoreError.accountNameExists(holder) }
        accounts[id]?.name = name
        return accounts[id]
    }

    public func setAccountRetention(id: Int64, days: Int?) async throws -> Account? {
        guard accounts[id] != nil else { return nil }
        accounts[id]?.retentionDays = days
        return accounts[id]
    }

    public func createKey(_ key: StoredAccessKey) async throws {
        guard accounts[key.accountId] != nil else { throw StoreError.accountNotFound(key.accountId) }
        guard keys[key.secretId] == nil else { throw StoreError.keyExists(key.secretId) }
        keys[key.secretId] = key
    }

    public func key(secretId: String) async throws -> StoredAccessKey? { keys[secretId] }

    public func listKeys(accountId: Int64?) async throws -> [StoredAccessKey] {
        keys.values.filter { accountId == nil || $0.accountId == accountId }.sorted { ($0.createdAt, $0.secretId) < ($1.createdAt, $1.secretId) }
    }

    public func setKeyStatus(secretId: String, status: KeyStatus) async throws -> Bool {
        guard keys[secretId] != nil else { return false }
        keys[secretId]!.status = status
        return true
    }

    public func append(_ events: [AuditEvent]) async throws -> [AppendOutcome] {
        for e in events where accounts[e.accountId] == nil { throw StoreError.accountNotFound(e.accountId) }
        var out: [AppendOutcome] = []
        for e in events {
            if let seq = byEventId[e.accountId]?[e.eventId] {
                out.append(.duplicate(sequence: seq))
                continue
            }
            let seq = nextSequence[e.accountId, default: 1]
            nextSequence[e.accountId] = seq + 1
            byEventId[e.accountId, default: [:]][e.eventId] = seq
            let stored = StoredEvent(accountId: e.accountId, sequence: seq, eventId: e.eventId, eventTime: e.eventTime,
                                     position: Int64(rows.count + 1), record: e.record)
            rows.append(Row(event: stored, postings: Set(e.postings.map { PostingValue(key: $0.key, value: $0.value) })))
            var range = merkle[e.accountId] ?? CompactRange()
            var nodes = merkleNodes[e.accountId] ?? [:]
            range.append(RFC6962.leafHash(e.record)) { node, hash in nodes[node] = hash }
            merkle[e.accountId] = range
            merkleNodes[e.accountId] = nodes
            out.append(.stored(sequence: seq))
        }
        return out
    }

    public func lookup(_ q: EventQuery) async throws -> EventPage {
        func matchesAll(_ conditions: [LookupCondition], _ r: Row) -> Bool {
            conditions.allSatisfy { c in c.values.contains { r.postings.contains(PostingValue(key: c.key, value: $0)) } }
        }
        let matching = rows.filter { r in
            r.event.accountId == q.accountId && r.event.eventTime >= q.startTime && r.event.eventTime <= q.endTime
                && r.event.sequence <= (q.throughSequence ?? .max)
                && matchesAll(q.conditions, r) && (q.excluding.isEmpty || !matchesAll(q.excluding, r))
        }.map(\.event).sorted { $0.pagePosition < $1.pagePosition }
        let after = matching.filter { q.after == nil || q.after! < $0.pagePosition }
        let page = Array(after.prefix(q.limit))
        return EventPage(events: page, listOver: after.count <= q.limit, totalCount: q.includeTotalCount ? matching.count : nil)
    }

    public func deleteEvents(accountId: Int64, olderThan cutoff: Int64) async throws -> Int {
        let before = rows.count
        rows.removeAll { row in
            let drop = row.event.accountId == accountId && row.event.eventTime < cutoff
            // As in SQLite: a dropped event's id is free again, and no longer found (its leaf stays).
            if drop { byEventId[accountId]?[row.event.eventId] = nil }
            return drop
        }
        return before - rows.count
    }

    public func saveCursor(token: Int64, accountId: Int64, payload: [UInt8], expiresAt: Int64) async throws {
        cursors[token] = (accountId, payload, expiresAt)
    }

    public func cursor(token: Int64, accountId: Int64, now: Int64) async throws -> [UInt8]? {
        guard let c = cursors[token], c.accountId == accountId, c.expiresAt > now else { return nil }
        return c.payload
    }

    public func deleteExpiredCursors(now: Int64) async throws {
        cursors = cursors.filter { $0.value.expiresAt > now }
    }

    public func deploymentSecret() async throws -> [UInt8] { secret }
    public func close() async throws {}

    // MARK: Delivery

    struct DeliveryKey: Hashable {
        var track: Int64
        var account: Int64
    }

    public func events(accountId: Int64, afterSequence: Int64, limit: Int) async throws -> [StoredEvent] {
        Array(rows.lazy.map(\.event).filter { $0.accountId == accountId && $0.sequence > afterSequence }.prefix(limit))
    }

    public func lastSequence(accountId: Int64) async throws -> Int64 { nextSequence[accountId, default: 1] - 1 }

    public func createTrack(_ track: Track, quota: Int) async throws -> Track {
        guard accounts[track.accountId] != nil else { throw StoreError.accountNotFound(track.accountId) }
        let own = tracks.values.filter { $0.accountId == track.accountId }
        guard own.count < quota else { throw StoreError.trackQuota(quota) }
        guard !own.contains(where: { $0.name == track.name }) else { throw StoreError.trackNameExists(track.name) }
        var t = track
        t.id = nextTrackId
        t.createdAt = clock()
        nextTrackId += 1
        tracks[t.id] = t
        startCursors(of: t)
        return t
    }

    /// Cursors for the accounts a set covers and has none for yet, at their last sequence.
    private func startCursors(of t: Track) {
        var covered = [t.accountId]
        if t.trackForAllMembers { covered += accounts.values.filter { $0.memberOf == t.accountId }.map(\.id) }
        for a in covered where states[DeliveryKey(track: t.id, account: a)] == nil {
            states[DeliveryKey(track: t.id, account: a)] = DeliveryState(trackId: t.id, accountId: a, deliveredSequence: nextSequence[a, default: 1] - 1)
        }
    }

    public func track(id: Int64) async throws -> Track? { tracks[id] }

    public func track(accountId: Int64, name: String) async throws -> Track? {
        tracks.values.first { $0.accountId == accountId && $0.name == name }
    }

    public func tracks(accountId: Int64?) async throws -> [Track] {
        tracks.values.filter { accountId == nil || $0.accountId == accountId }.sorted { $0.id < $1.id }
    }

    public func updateTrack(_ track: Track) async throws -> Bool {
        guard let old = tracks[track.id] else { return false }
        var t = track
        t.name = old.name
        t.accountId = old.accountId
        t.createdAt = old.createdAt
        tracks[t.id] = t
        startCursors(of: t)
        return true
    }

    public func deleteTrack(id: Int64) async throws -> Bool {
        guard tracks.removeValue(forKey: id) != nil else { return false }
        states = states.filter { $0.key.track != id }
        outbox.removeAll { $0.trackId == id }
        return true
    }

    public func deliveryStates(trackId: Int64?) async throws -> [DeliveryState] {
        states.values.filter { trackId == nil || $0.trackId == trackId }.sorted { ($0.trackId, $0.accountId) < ($1.trackId, $1.accountId) }
    }

    public func saveDeliveryState(_ state: DeliveryState, expectedSequence: Int64?, notifications: [OutgoingNotification]) async throws {
        let k = DeliveryKey(track: state.trackId, account: state.accountId)
        guard tracks[state.trackId] != nil else { return }
        if let expectedSequence, states[k]?.deliveredSequence ?? 0 != expectedSequence { throw StoreError.cursorMoved }
        states[k] = state
        for n in notifications {
            outbox.append(QueuedNotification(id: nextNotificationId, trackId: state.trackId, channel: n.channel, body: n.body, messageId: n.messageId, attempts: 0))
            nextNotificationId += 1
        }
    }

    public func pendingNotifications(dueBy now: Int64, limit: Int) async throws -> [QueuedNotification] {
        let due = Array(outbox.filter { outboxDue[$0.id, default: 0] <= now }.prefix(limit))
        for n in due { outboxDue[n.id] = QueuedNotification.claimEnd(now) }
        return due
    }

    public func acknowledgeNotification(id: Int64) async throws {
        outbox.removeAll { $0.id == id }
        outboxDue[id] = nil
    }

    public func postponeNotification(id: Int64, until: Int64, error: String) async throws {
        guard let i = outbox.firstIndex(where: { $0.id == id }) else { return }
        outbox[i].attempts += 1
        outboxDue[id] = until
    }

    public func pendingNotificationCounts() async throws -> [Int64: Int] {
        outbox.reduce(into: [:]) { $0[$1.trackId, default: 0] += 1 }
    }

    // MARK: Merkle log

    public func merkleRange(accountId: Int64) async throws -> CompactRange { merkle[accountId] ?? CompactRange() }

    public func merkleSubtrees(accountId: Int64, _ nodes: [MerkleNode]) async throws -> [MerkleNode: MerkleHash] {
        let kept = merkleNodes[accountId] ?? [:]
        var out: [MerkleNode: MerkleHash] = [:]
        for n in nodes {
            guard let h = kept[n] else { throw StoreError(.merkleNodeMissing, "the log of account \(accountId) has no subtree \(n)") }
            out[n] = h
        }
        return out
    }

    public func sequence(accountId: Int64, eventId: String) async throws -> Int64? { byEventId[accountId]?[eventId] }

    public func checkpoints(accountId: Int64) async throws -> [StoredCheckpoint] {
        (checkpoints[accountId] ?? [:]).values.sorted { $0.size < $1.size }
    }

    public func queuedNotifications() async throws -> [QueuedNotification] { outbox }

    public func saveCheckpoint(_ c: StoredCheckpoint) async throws {
        if checkpoints[c.accountId]?[c.size] == nil { checkpoints[c.accountId, default: [:]][c.size] = c }
    }

    public func checkpoint(accountId: Int64, size: Int64?) async throws -> StoredCheckpoint? {
        guard let kept = checkpoints[accountId] else { return nil }
        if let size { return kept[size] }
        return kept.max { $0.key < $1.key }?.value
    }

    // MARK: KMS keys

    public func createKmsKey(_ key: KmsKey) async throws {
        guard accounts[key.accountId] != nil else { throw StoreError.accountNotFound(key.accountId) }
        guard managedKeys[key.keyId] == nil else { throw StoreError.kmsKeyExists(key.keyId) }
        if managedKeys.values.contains(where: { $0.accountId == key.accountId && $0.region == key.region && $0.alias == key.alias }) {
            throw StoreError.kmsAliasExists(key.alias, region: key.region)
        }
        managedKeys[key.keyId] = key
    }

    public func kmsKey(id: String) async throws -> KmsKey? { managedKeys[id] }

    public func kmsKeys(accountId: Int64?, region: String?) async throws -> [KmsKey] {
        managedKeys.values.filter { (accountId == nil || $0.accountId == accountId) && (region == nil || $0.region == region) }
            .sorted { ($0.createdAt, $0.keyId) < ($1.createdAt, $1.keyId) }
    }

    public func setKmsKeyStatus(id: String, status: KeyStatus) async throws -> Bool {
        guard managedKeys[id] != nil else { return false }
        managedKeys[id]!.status = status
        return true
    }

    // MARK: Console

    public func setConsolePassword(_ p: ConsolePassword) async throws {
        guard accounts[p.accountId] != nil else { throw StoreError.accountNotFound(p.accountId) }
        passwords["\(p.accountId)/\(p.role.rawValue)"] = p
        sessions = sessions.filter { !($0.value.accountId == p.accountId && $0.value.role == p.role && $0.value.secretId == nil) }
    }

    public func consolePassword(accountId: Int64, role: KeyRole) async throws -> ConsolePassword? { passwords["\(accountId)/\(role.rawValue)"] }

    public func createConsoleSession(_ session: ConsoleSession) async throws {
        guard accounts[session.accountId] != nil else { throw StoreError.accountNotFound(session.accountId) }
        sessions[session.tokenHash] = session
    }

    public func consoleSession(tokenHash: [UInt8]) async throws -> ConsoleSession? { sessions[tokenHash] }

    public func touchConsoleSession(tokenHash: [UInt8], lastSeenAt: Int64) async throws {
        guard let seen = sessions[tokenHash]?.lastSeenAt else { return }
        sessions[tokenHash]?.lastSeenAt = max(seen, lastSeenAt)
    }

    public func deleteConsoleSession(tokenHash: [UInt8]) async throws -> Bool { sessions.removeValue(forKey: tokenHash) != nil }

    public func deleteConsoleSessions(idleBefore: Int64, createdBefore: Int64) async throws -> Int {
        let before = sessions.count
        sessions = sessions.filter { $0.value.lastSeenAt >= idleBefore && $0.value.createdAt >= createdBefore }
        return before - sessions.count
    }

    public func topValues(accountId: Int64, key: LookupKey, startTime: Int64, endTime: Int64, limit: Int) async throws -> [ValueCount] {
        guard key.recordPath != nil else { return [] }
        var counts: [String: Int] = [:]
        for r in rows where r.event.accountId == accountId && r.event.eventTime >= startTime && r.event.eventTime <= endTime {
            for p in r.postings where p.key == key { counts[p.value, default: 0] += 1 }
        }
        return ValueCount.ranked(counts, limit: limit)
    }
}

// MARK: - Alerts (kept by a MemoryAlertStore of its own)

extension MemoryEventStore {
    public func createAlertChannel(_ channel: StoredAlertChannel, limit: Int) async throws {
        guard accounts[channel.accountId] != nil else { throw StoreError.accountNotFound(channel.accountId) }
        try await alertStore.createAlertChannel(channel, limit: limit)
    }
    public func alertChannels(accountId: Int64) async throws -> [StoredAlertChannel] { try await alertStore.alertChannels(accountId: accountId) }
    public func updateAlertChannel(_ channel: StoredAlertChannel) async throws -> Bool { try await alertStore.updateAlertChannel(channel) }
    public func deleteAlertChannel(accountId: Int64, id: Int64) async throws -> Bool { try await alertStore.deleteAlertChannel(accountId: accountId, id: id) }
    public func createAlertRule(_ rule: StoredAlertRule, limit: Int) async throws {
        guard accounts[rule.accountId] != nil else { throw StoreError.accountNotFound(rule.accountId) }
        try await alertStore.createAlertRule(rule, limit: limit)
    }
    public func alertRules(accountId: Int64?) async throws -> [StoredAlertRule] { try await alertStore.alertRules(accountId: accountId) }
    public func updateAlertRule(accountId: Int64, id: Int64, spec: AlertRuleSpec, updatedAt: Int64) async throws -> Bool {
        try await alertStore.updateAlertRule(accountId: accountId, id: id, spec: spec, updatedAt: updatedAt)
    }
    public func deleteAlertRule(accountId: Int64, id: Int64) async throws -> Bool { try await alertStore.deleteAlertRule(accountId: accountId, id: id) }
    public func commitAlertEvaluation(accountId: Int64, progress: [RuleProgress], alerts: [FiredAlert], deliveries: [AlertDelivery]) async throws {
        try await alertStore.commitAlertEvaluation(accountId: accountId, progress: progress, alerts: alerts, deliveries: deliveries)
    }
    public func alerts(accountId: Int64, from: Int64, to: Int64, ruleId: Int64?, severity: AlertSeverity?, offset: Int, limit: Int) async throws
        -> (alerts: [FiredAlert], total: Int) {
        try await alertStore.alerts(accountId: accountId, from: from, to: to, ruleId: ruleId, severity: severity, offset: offset, limit: limit)
    }
    public func alert(accountId: Int64, id: String) async throws -> FiredAlert? { try await alertStore.alert(accountId: accountId, id: id) }
    public func pendingAlertDeliveries(dueBy now: Int64, limit: Int) async throws -> [AlertDelivery] {
        try await alertStore.pendingAlertDeliveries(dueBy: now, limit: limit)
    }
    public func finishAlertDelivery(accountId: Int64, alertId: String, channelId: Int64) async throws {
        try await alertStore.finishAlertDelivery(accountId: accountId, alertId: alertId, channelId: channelId)
    }
    public func postponeAlertDelivery(accountId: Int64, alertId: String, channelId: Int64, until: Int64, error: String) async throws {
        try await alertStore.postponeAlertDelivery(accountId: accountId, alertId: alertId, channelId: channelId, until: until, error: error)
    }
    public func queuedAlertDeliveries(accountId: Int64) async throws -> [AlertDelivery] { try await alertStore.queuedAlertDeliveries(accountId: accountId) }
}
