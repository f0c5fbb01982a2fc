import AuditIntegrity
import AuditModel
import AuditObjectStorage
import Crypto
import Foundation

/// Offline verification of what a tracking set delivered to a bucket (docs/integrity.md): the digest
/// chain of every account, the log files the digests list, the files nobody lists, and the log itself
/// (each valid digest's files, read back, must rebuild its signed checkpoint from its `TreeStart`).
///
/// Needs only the object store and the deployment's public keys; `decrypt` (the key store) is needed
/// only to read `.enc` files for the log check: their stored bytes are checked without it.
///
/// What is checked, per account (the digest key names it), from the newest digest back through
/// `PreviousDigestKey`:
/// - each digest: its signature by a trusted key, its key (account, track, end time), its checkpoint's
///   signature and origin (`<key name>/accounts/<AccountId>`); else it is *forged*;
/// - the chain: a `PreviousDigestKey` that does not exist is a *gap*; `PreviousDigestSignature` must be
///   the previous digest's signature; `TreeStart` must be the previous checkpoint (size and root);
///   a digest that no later digest names, or a chain that restarts while older digests exist, is a
///   problem too;
/// - each file a valid digest lists: *valid* (its object SHA-256, and when readable the SHA-256 and
///   line count of its JSON lines), *missing*, *moved* (absent, but an unlisted object has its
///   SHA-256), *modified*, or *unreadable* (cannot be decrypted or decompressed);
/// - files of the track that no valid digest lists: *unexpected* when a valid digest of the account
///   already ends after the file's key time, the file is twice the digest interval old or older, or its
///   key time is in the future (beyond `clockSkew`); else *pending*: its digest is not written yet. A
///   pending file is not a problem, but it is not verified either: the report lists the pending files
///   of each account with the time their digest is due (``PendingCoverage``), and its ``Verdict`` is
///   `.pending` rather than `.verified`;
/// - the log check: the events of each valid digest's files (and its `Skipped` subtrees) appended to
///   `TreeStart` must give its checkpoint's root.
///
/// With a time range (`start`, `end`), the digests whose key time is from `start` up to the first one
/// after `end` (plus a margin of two digest intervals) are checked, and unlisted files only when their
/// key time is inside the range.
public struct BucketVerifier: Sendable {
    /// Turns the bytes of an `.enc` object into the bytes it encrypts (gzip or plain lines).
    public typealias Decryptor = @Sendable ([UInt8]) async throws -> [UInt8]

    public let store: any ObjectStore
    public let bucket: String
    /// The set's storage prefix, without a slash (`<prefix>/CloudAudit-Digest/...`).
    public let prefix: String
    public let trackId: Int64
    public let accountId: Int64?
    public let keys: [PublicSigningKey]
    public let start: Int64?
    public let end: Int64?
    public let digestInterval: Int64
    public let now: Int64
    public let decrypt: Decryptor?
    /// Objects fetched at once.
    public var concurrency = 8
    /// How far ahead of this machine's clock the server's may be (seconds).
    public static let clockSkew: Int64 = 300

    public init(store: any ObjectStore, bucket: String, prefix: String, trackId: Int64, accountId: Int64? = nil, keys: [PublicSigningKey],
                start: Int64? = nil, end: Int64? = nil, digestInterval: Int64 = 3600, now: Int64 = Int64(Date().timeIntervalSince1970),
                decrypt: Decryptor? = nil) {
        self.store = store
        self.bucket = bucket
        var p = prefix
        while p.hasSuffix("/") { p.removeLast() }
        self.prefix = p
        self.trackId = trackId
        self.accountId = accountId
        self.keys = keys
        self.start = start
        self.end = end
        self.digestInterval = max(1, digestInterval)
        self.now = now
        self.decrypt = decrypt
    }

    // MARK: - Prefix discovery

    /// The storage prefixes of the bucket that hold digests or log files of `trackId` (a prefix is one
    /// folder: 3-40 letters and digits).
    public static func prefixes(store: any ObjectStore, bucket: String, trackId: Int64) async throws -> [String] {
        var found = Set<String>()
        for key in try await store.list(bucket: bucket, prefix: "") {
            guard let slash = key.firstIndex(of: "/") else { continue }
            let prefix = String(key[..<slash])
            if let d = BucketKeys.digest(key), d.trackId == trackId, key.hasPrefix(prefix + "/" + BucketKeys.digestFolder + "/") {
                found.insert(prefix)
            } else if let f = BucketKeys.logFile(key), f.trackId == trackId {
                found.insert(prefix)
            }
        }
        return found.sorted()
    }

    // MARK: - Verification

    public func verify() async throws -> BucketVerificationReport {
        let root = prefix + "/"
        let digestRoot = root + BucketKeys.digestFolder + "/"
        let listed = try await store.list(bucket: bucket, prefix: root)

        var digestKeys: [Int64: [BucketKeys.DigestKey]] = [:]
        var logKeys: [String: BucketKeys.LogFileKey] = [:]
        var otherObjects: [String] = []
        for key in listed {
            if key.hasPrefix(digestRoot) {
                guard let d = BucketKeys.digest(key), d.trackId == trackId, accountId == nil || d.accountId == accountId else { continue }
                digestKeys[d.accountId, default: []].append(d)
            } else if let f = BucketKeys.logFile(key), f.trackId == trackId {
                if accountId == nil || f.accountId == accountId { logKeys[key] = f } else { otherObjects.append(key) }
            } else {
                otherObjects.append(key)
            }
        }

        var report = BucketVerificationReport(bucket: bucket, prefix: prefix, trackId: trackId, accountId: accountId, startTime: start,
                                              endTime: end, checkedAt: now)
        let accounts = Set(digestKeys.keys).union(logKeys.values.map(\.accountId)).sorted()
        report.accounts = accounts

        // 1. The digest chains.
        var chains: [Int64: AccountChain] = [:]
        for account in accounts {
            chains[account] = try await walkChain(account: account, keys: digestKeys[account] ?? [])
        }

        // 2. The files valid digests list.
        var covered = Set<String>()
        for chain in chains.values {
            for d in chain.valid { for f in d.digest.files { covered.insert(f.key) } }
            for d in chain.linkOnlyValid { for f in d.files { covered.insert(f.key) } }
        }
        var checks: [FileCheckBatch] = []
        for account in accounts {
            for d in chains[account]!.valid.sorted(by: { ($0.digest.endTime, $0.key) < ($1.digest.endTime, $1.key) }) {
                checks.append(try await checkFiles(of: d))
            }
        }

        // 3. Missing files that were moved: an unlisted object with the same object SHA-256.
        var movedTargets = Set<String>()
        if checks.contains(where: { $0.outcomes.contains { $0.status == .missing } }) {
            let candidates = (Array(logKeys.keys) + otherObjects).filter { !covered.contains($0) }.sorted()
            let byHash = try await objectHashes(candidates)
            for i in checks.indices {
                for j in checks[i].outcomes.indices where checks[i].outcomes[j].status == .missing {
                    let want = checks[i].outcomes[j].file.objectSHA256
                    if let target = byHash[want]?.first(where: { !movedTargets.contains($0) }) ?? byHash[want]?.first {
                        checks[i].outcomes[j].status = .moved
                        checks[i].outcomes[j].movedTo = target
                        movedTargets.insert(target)
                    }
                }
            }
        }

        // 4. The log check, and the report of each digest and file.
        var digestResults: [String: DigestResult] = [:]
        for account in accounts {
            for d in chains[account]!.results { digestResults[d.key] = d }
        }
        for batch in checks {
            var logCheck: LogCheck
            let outcomes = batch.outcomes
            if outcomes.contains(where: { [.modified, .unreadable].contains($0.status) }) {
                logCheck = LogCheck(status: .notChecked, detail: "a listed file is modified or unreadable")
            } else if outcomes.contains(where: { $0.status == .missing }) {
                logCheck = LogCheck(status: .notChecked, detail: "a listed file is missing")
            } else if outcomes.contains(where: { $0.encryptedUnread }) {
                logCheck = LogCheck(status: .notChecked, detail: "encrypted; pass --data-dir")
            } else {
                var lines: [String: [[UInt8]]] = [:]
                var failure: String?
                for o in outcomes {
                    if let l = o.lines {
                        lines[o.file.key] = l
                    } else if let target = o.movedTo {
                        // The moved object has the listed object SHA-256: read it from where it is now.
                        var content: Readable?
                        if let bytes = try await fetch(target) { content = await read(bytes, file: o.file) }
                        switch content {
                        case .lines(let l)?: lines[o.file.key] = l
                        case .encrypted?: failure = "encrypted; pass --data-dir"
                        default: failure = "the moved file \(target) cannot be read"
                        }
                    }
                    if failure != nil { break }
                }
                if let failure {
                    logCheck = LogCheck(status: .notChecked, detail: failure)
                } else if let problem = Self.rebuild(batch.digest.digest, checkpoint: batch.digest.checkpoint, lines: lines) {
                    logCheck = LogCheck(status: .failed, detail: problem)
                    report.problems.append(Problem(kind: .log, key: batch.digest.key, message: problem))
                } else {
                    logCheck = LogCheck(status: .verified, detail: nil)
                }
            }
            digestResults[batch.digest.key]?.logCheck = logCheck
            for o in outcomes {
                report.logFiles.append(LogFileResult(key: o.file.key, accountId: batch.digest.digest.accountId, status: o.status,
                                                     digestKey: batch.digest.key, movedTo: o.movedTo, reason: o.reason, events: o.file.events,
                                                     contentChecked: o.lines != nil))
                switch o.status {
                case .missing:
                    report.problems.append(Problem(kind: .missing, key: o.file.key, message: "listed by \(batch.digest.key), not in the bucket"))
                case .moved:
                    report.problems.append(Problem(kind: .moved, key: o.file.key, related: o.movedTo,
                                                   message: "not at its key; found at \(o.movedTo ?? "?") (same SHA-256), listed by \(batch.digest.key)"))
                case .modified, .unreadable:
                    report.problems.append(Problem(kind: o.status == .modified ? .modified : .unreadable, key: o.file.key,
                                                   message: o.reason ?? "differs from the digest"))
                default: break
                }
            }
        }

        // 5. Files no valid digest lists.
        for (key, f) in logKeys.sorted(by: { ($0.value.accountId, $0.value.time, $0.key) < ($1.value.accountId, $1.value.time, $1.key) }) {
            guard !covered.contains(key), !movedTargets.contains(key) else { continue }
            if let start, f.time < start { continue }
            if let end, f.time > end { continue }
            let newest = chains[f.accountId]?.valid.max(by: { ($0.digest.endTime, $0.key) < ($1.digest.endTime, $1.key) })
            var result = LogFileResult(key: key, accountId: f.accountId, status: .pending, digestKey: nil, movedTo: nil, reason: nil, events: nil,
                                       contentChecked: false)
            if let newest, f.time < newest.digest.endTime {
                result.status = .unexpected
                result.reason = "not listed by any valid digest, though digest \(newest.key) already covers its time"
            } else if f.time <= now - 2 * digestInterval {
                result.status = .unexpected
                result.reason = "not listed by any valid digest, though written at least twice the digest interval (\(2 * digestInterval) s) ago"
            } else if f.time > now + Self.clockSkew {
                // The server names a file by the time it writes it: a key from the future was not written by it.
                result.status = .unexpected
                result.reason = "not listed by any valid digest, and its key time is in the future"
            } else {
                result.reason = "not yet listed by a digest (recent)"
            }
            if result.status == .unexpected {
                report.problems.append(Problem(kind: .unexpected, key: key, message: result.reason!))
            }
            report.logFiles.append(result)
        }

        // 6. Assemble.
        for account in accounts {
            report.problems.append(contentsOf: chains[account]!.problems)
        }
        report.digests = digestResults.values.sorted { ($0.accountId, $0.endTime ?? 0, $0.key) < ($1.accountId, $1.endTime ?? 0, $1.key) }
        report.problems.sort { ($0.kind.order, $0.key) < ($1.kind.order, $1.key) }
        report.pending = pendingCoverage(report.logFiles, chains: chains)
        report.summary = BucketVerificationReport.Summary(report)
        report.isValid = report.problems.isEmpty
        report.isComplete = report.pending.isEmpty
        if !report.isValid {
            report.verdict = .failed
        } else if report.digests.isEmpty && report.logFiles.isEmpty {
            report.verdict = .nothing
        } else {
            report.verdict = report.isComplete ? .verified : .pending
        }
        return report
    }

    /// The pending files of each account, and when the digest that will list them is due.
    func pendingCoverage(_ files: [LogFileResult], chains: [Int64: AccountChain]) -> [PendingCoverage] {
        var times: [Int64: [Int64]] = [:]
        for f in files where f.status == .pending {
            guard let account = f.accountId, let time = BucketKeys.logFile(f.key)?.time else { continue }
            times[account, default: []].append(time)
        }
        return times.keys.sorted().map { account in
            let t = times[account]!
            let lastDigest = chains[account]?.valid.map(\.digest.endTime).max()
            // A digest period starts where the previous digest ended, or (the set's first) before its
            // first file was written; it closes `digestInterval` later. A stopped set or a shutdown
            // closes it sooner.
            let due = (lastDigest ?? t.min()!) + digestInterval
            return PendingCoverage(accountId: account, files: t.count, oldestFileTime: t.min()!, newestFileTime: t.max()!,
                                   lastDigestEndTime: lastDigest, nextDigestDue: due)
        }
    }

    // MARK: - The chain

    /// A digest read from the bucket.
    struct LoadedDigest: Sendable {
        var key: String
        /// Its parsed content (also for a forged digest when it parses: to follow the chain).
        var parsed: DigestFile?
        /// The `Signature` member, as the next digest quotes it.
        var signature: String?
        var forgedReason: String?
        var checkpoint: Checkpoint?

        var isValid: Bool { forgedReason == nil && parsed != nil && checkpoint != nil }
    }

    struct ValidDigest: Sendable {
        var key: String
        var digest: DigestFile
        var checkpoint: Checkpoint
    }

    struct AccountChain {
        var results: [DigestResult] = []
        var valid: [ValidDigest] = []
        /// Valid digests outside the range, read only to check the link to them.
        var linkOnlyValid: [DigestFile] = []
        var problems: [Problem] = []
    }

    /// The digests of the range: from `start` to the first one after `end` (+ 2 intervals).
    func window(_ keys: [BucketKeys.DigestKey]) -> [BucketKeys.DigestKey] {
        let ascending = keys.sorted { ($0.time, $0.key) < ($1.time, $1.key) }
        guard start != nil || end != nil else { return ascending }
        var out: [BucketKeys.DigestKey] = []
        var seenAfterEnd = false
        for k in ascending {
            if let start, k.time < start { continue }
            if let end, k.time > end {
                if seenAfterEnd && k.time > end + 2 * digestInterval { continue }
                seenAfterEnd = true
            }
            out.append(k)
        }
        return out
    }

    func walkChain(account: Int64, keys: [BucketKeys.DigestKey]) async throws -> AccountChain {
        var chain = AccountChain()
        let inWindow = window(keys)
        let windowKeys = Set(inWindow.map(\.key))
        let newestFirst = inWindow.reversed().map { $0 }
        var loaded: [String: LoadedDigest?] = [:]
        func load(_ key: String) async throws -> LoadedDigest? {
            if let l = loaded[key] { return l }
            let l = try await loadDigest(key, account: account)
            loaded[key] = l
            return l
        }

        var visited = Set<String>()
        var cursor: String?
        var continuation = false
        var first = true
        while true {
            let key: String
            if let c = cursor {
                key = c
            } else {
                guard let head = newestFirst.first(where: { !visited.contains($0.key) }) else { break }
                if !first && !continuation {
                    chain.problems.append(Problem(kind: .chain, key: head.key,
                                                  message: "no later digest names it as its PreviousDigestKey (the chain skips it)"))
                }
                key = head.key
            }
            first = false
            cursor = nil
            continuation = false
            visited.insert(key)
            guard let d = try await load(key) else {
                // Listed, then gone: report it as a gap of the chain rather than guessing.
                chain.problems.append(Problem(kind: .gap, key: key, message: "the digest was listed but could not be read"))
                continuation = true
                continue
            }
            chain.results.append(result(of: d, account: account))
            if let why = d.forgedReason { chain.problems.append(Problem(kind: .forged, key: key, message: why)) }
            if d.isValid { chain.valid.append(ValidDigest(key: key, digest: d.parsed!, checkpoint: d.checkpoint!)) }

            // Follow the chain. A forged digest's link is followed (it names some digest to check next),
            // but what it claims about its previous digest is not checked.
            guard let digest = d.parsed else {
                continuation = true
                continue
            }
            guard let previousKey = digest.previousKey else {
                let older = newestFirst.first { !visited.contains($0.key) && $0.time <= (BucketKeys.digest(key)?.time ?? .max) }
                if let older, d.isValid {
                    chain.problems.append(Problem(kind: .gap, key: key, related: older.key,
                                                  message: "it has no PreviousDigestKey (it starts a chain), but older digest \(older.key) exists"))
                }
                continuation = true
                continue
            }
            if visited.contains(previousKey) {
                if d.isValid {
                    chain.problems.append(Problem(kind: .chain, key: key, related: previousKey,
                                                  message: "its PreviousDigestKey \(previousKey) is already in the chain (a loop or a fork)"))
                }
                continuation = true
                continue
            }
            let previous = try await load(previousKey)
            guard let previous else {
                if d.isValid {
                    chain.problems.append(Problem(kind: .gap, key: key, related: previousKey,
                                                  message: "its previous digest \(previousKey) does not exist"))
                }
                continuation = true
                continue
            }
            if d.isValid {
                if digest.previousSignature != previous.signature {
                    chain.problems.append(Problem(kind: .chain, key: key, related: previousKey,
                                                  message: "its PreviousDigestSignature is not the signature of \(previousKey)"))
                }
                if let cp = previous.checkpoint, previous.isValid,
                   digest.treeStart.size != cp.size || digest.treeStart.root() != cp.root {
                    let what = digest.treeStart.size != cp.size ? "size \(digest.treeStart.size)" : "size \(digest.treeStart.size) with another root"
                    chain.problems.append(Problem(kind: .gap, key: key, related: previousKey,
                                                  message: "its TreeStart (\(what)) does not continue the checkpoint of \(previousKey) (size \(cp.size))"))
                }
            }
            if windowKeys.contains(previousKey) {
                cursor = previousKey
            } else {
                // Outside the range (or not a key of this account and track): checked for the link only.
                if previous.isValid, let p = previous.parsed { chain.linkOnlyValid.append(p) }
                if BucketKeys.digest(previousKey).map({ $0.accountId != account || $0.trackId != trackId }) ?? true, d.isValid {
                    chain.problems.append(Problem(kind: .chain, key: key, related: previousKey,
                                                  message: "its PreviousDigestKey \(previousKey) is not a digest of account \(account), track \(trackId)"))
                }
                continuation = true
            }
        }
        return chain
    }

    func result(of d: LoadedDigest, account: Int64) -> DigestResult {
        var r = DigestResult(key: d.key, accountId: d.parsed?.accountId ?? account, status: d.isValid ? .valid : .forged,
                             reason: d.forgedReason)
        if let p = d.parsed {
            r.startTime = p.startTime
            r.endTime = p.endTime
            r.previousKey = p.previousKey
            r.treeStartSize = p.treeStart.size
            r.logFileCount = p.files.count
        } else {
            r.endTime = BucketKeys.digest(d.key)?.time
        }
        r.treeSize = d.checkpoint?.size
        if !d.isValid { r.logCheck = LogCheck(status: .notChecked, detail: "the digest is not valid") }
        return r
    }

    /// Reads and checks one digest; nil when the object does not exist.
    func loadDigest(_ key: String, account: Int64) async throws -> LoadedDigest? {
        guard let bytes = try await fetch(key) else { return nil }
        var d = LoadedDigest(key: key)
        d.signature = (try? JSONParser.parse(bytes))?["Signature"]?.stringValue
        let digest: DigestFile
        do {
            (digest, _) = try DigestFile.open(bytes, keys: keys)
        } catch let e as DigestError {
            d.parsed = try? DigestFile.parse(bytes)
            d.forgedReason = e.description
            return d
        } catch {
            d.parsed = try? DigestFile.parse(bytes)
            d.forgedReason = "malformed digest: \(error)"
            return d
        }
        d.parsed = digest
        let expected = DigestFile.key(prefix: prefix, accountId: digest.accountId, trackId: digest.trackId, endTime: digest.endTime)
        guard digest.trackId == trackId, digest.accountId == account, key == expected else {
            d.forgedReason = "its AccountId (\(digest.accountId)), TrackId (\(digest.trackId)) and DigestEndTime do not match its key (expected \(expected))"
            return d
        }
        let body: String, signer: PublicSigningKey
        do {
            (body, signer) = try SignedNote.open(digest.checkpoint, keys: keys)
        } catch {
            d.forgedReason = "its checkpoint is not valid: \(error)"
            return d
        }
        let checkpoint: Checkpoint
        do {
            checkpoint = try Checkpoint.parse(body: body)
        } catch {
            d.forgedReason = "its checkpoint is not valid: \(error)"
            return d
        }
        let origin = Checkpoint.origin(keyName: signer.name, accountId: digest.accountId)
        guard checkpoint.origin == origin else {
            d.forgedReason = "its checkpoint is for \(checkpoint.origin), not \(origin)"
            return d
        }
        guard checkpoint.size >= digest.treeStart.size else {
            d.forgedReason = "its checkpoint size \(checkpoint.size) is smaller than its TreeStart size \(digest.treeStart.size)"
            return d
        }
        d.checkpoint = checkpoint
        return d
    }

    // MARK: - Files

    struct FileOutcome: Sendable {
        var file: DigestFile.LogFile
        var status: LogFileResult.Status
        var reason: String?
        var movedTo: String?
        /// The records (lines without their newline), when the file was read.
        var lines: [[UInt8]]?
        /// Valid as stored, but encrypted and no decryptor was given.
        var encryptedUnread = false
    }

    struct FileCheckBatch: Sendable {
        var digest: ValidDigest
        var outcomes: [FileOutcome]
    }

    enum Readable: Sendable {
        case lines([[UInt8]])
        case encrypted
        /// Cannot be decrypted or decompressed.
        case unreadable(String)
        /// Its lines differ from the digest (SHA256, Events).
        case mismatch(String)
    }

    func checkFiles(of d: ValidDigest) async throws -> FileCheckBatch {
        let outcomes = try await Self.mapConcurrently(d.digest.files, limit: concurrency) { file in
            try await self.checkFile(file)
        }
        return FileCheckBatch(digest: d, outcomes: outcomes)
    }

    func checkFile(_ file: DigestFile.LogFile) async throws -> FileOutcome {
        guard let bytes = try await fetch(file.key) else { return FileOutcome(file: file, status: .missing) }
        guard Array(SHA256.hash(data: bytes)) == file.objectSHA256 else {
            return FileOutcome(file: file, status: .modified, reason: "SHA-256 differs from the digest")
        }
        switch await read(bytes, file: file) {
        case .encrypted:
            return FileOutcome(file: file, status: .valid, reason: "encrypted: contents not read (pass --data-dir)", encryptedUnread: true)
        case .unreadable(let why):
            return FileOutcome(file: file, status: .unreadable, reason: why)
        case .mismatch(let why):
            return FileOutcome(file: file, status: .modified, reason: why)
        case .lines(let lines):
            return FileOutcome(file: file, status: .valid, lines: lines)
        }
    }

    /// Decrypts (`.enc`), decompresses (`.gz`) and splits a file whose object hash matched, as its listed
    /// key says; checks the lines' SHA-256 and count against the digest.
    func read(_ stored: [UInt8], file: DigestFile.LogFile) async -> Readable {
        var bytes = stored
        var name = file.key
        if name.hasSuffix(".enc") {
            guard let decrypt else { return .encrypted }
            do {
                bytes = try await decrypt(bytes)
            } catch {
                return .unreadable("cannot decrypt: \(error)")
            }
            name.removeLast(4)
        }
        if name.hasSuffix(".gz") {
            do {
                bytes = try Gzip.decompress(bytes)
            } catch {
                return .unreadable("cannot decompress: \(error)")
            }
        }
        guard Array(SHA256.hash(data: bytes)) == file.sha256 else {
            return .mismatch("the SHA-256 of its JSON lines differs from the digest's SHA256 (the stored object matches ObjectSHA256)")
        }
        let lines = Self.records(bytes)
        guard lines.count == file.events else {
            return .mismatch("it has \(lines.count) lines; the digest says \(file.events) events")
        }
        return .lines(lines)
    }

    /// The records of a file: its lines without their newline.
    static func records(_ bytes: [UInt8]) -> [[UInt8]] {
        guard !bytes.isEmpty else { return [] }
        var out = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
        if bytes.last == 0x0A { out.removeLast() }
        return out
    }

    /// The object SHA-256 of each of `keys` (for finding moved files).
    func objectHashes(_ keys: [String]) async throws -> [[UInt8]: [String]] {
        let hashes = try await Self.mapConcurrently(keys, limit: concurrency) { key -> (String, [UInt8]?) in
            (key, try await self.fetch(key).map { Array(SHA256.hash(data: $0)) })
        }
        var out: [[UInt8]: [String]] = [:]
        for (key, h) in hashes { if let h { out[h, default: []].append(key) } }
        return out
    }

    /// `get`, with a key the store refuses (`..`, empty segments) read as absent.
    func fetch(_ key: String) async throws -> [UInt8]? {
        do {
            return try await store.get(bucket: bucket, key: key)
        } catch let e as ObjectStoreError where e.kind == .rejected {
            return nil
        }
    }

    static func mapConcurrently<T: Sendable, R: Sendable>(_ items: [T], limit: Int, _ body: @escaping @Sendable (T) async throws -> R) async throws -> [R] {
        var results = [R?](repeating: nil, count: items.count)
        try await withThrowingTaskGroup(of: (Int, R).self) { group in
            var next = 0
            func add() {
                let i = next, item = items[i]
                group.addTask { (i, try await body(item)) }
                next += 1
            }
            while next < items.count && next < max(1, limit) { add() }
            while let (i, r) = try await group.next() {
                results[i] = r
                if next < items.count { add() }
            }
        }
        return results.map { $0! }
    }

    // MARK: - The log check

    /// Rebuilds the checkpoint's root from `TreeStart`, the records of the files (`lines` by file key)
    /// and the skipped subtrees; nil when it matches, else why not.
    public static func rebuild(_ digest: DigestFile, checkpoint: Checkpoint, lines: [String: [[UInt8]]]) -> String? {
        let failure = "events of this digest's files do not verify against checkpoint size \(checkpoint.size)"
        enum Part {
            case leaves([MerkleHash])
            case subtrees([(MerkleNode, MerkleHash)])
        }
        var segments: [(first: Int64, last: Int64, part: Part)] = []
        // Sizes and sequence numbers come from the files: checked before any arithmetic on them, so that a
        // digest (even one signed by a trusted key) cannot make verify overflow.
        guard digest.treeStart.size < UInt64(Int64.max), let checkpointSize = Int64(exactly: checkpoint.size), checkpointSize < Int64.max else {
            return failure + ": a tree size is beyond 2^63"
        }
        func isSequenceRange(_ first: Int64, _ last: Int64) -> Bool { first >= 1 && first <= last && last < Int64.max }
        for f in digest.files {
            guard let records = lines[f.key] else { return failure + ": \(f.key) was not read" }
            var total: Int64 = 0
            for run in f.sequences {
                guard isSequenceRange(run.lowerBound, run.upperBound) else {
                    return failure + ": \(f.key) lists Sequences [\(run.lowerBound), \(run.upperBound)], not a range of sequence numbers"
                }
                let (sum, overflow) = total.addingReportingOverflow(run.upperBound - run.lowerBound + 1)
                guard !overflow else { return failure + ": \(f.key) lists more Sequences than it can hold records" }
                total = sum
            }
            guard total == Int64(records.count) else {
                return failure + ": \(f.key) has \(records.count) records but its Sequences cover \(total)"
            }
            var i = 0
            for run in f.sequences {
                let n = Int(run.upperBound - run.lowerBound + 1)
                segments.append((run.lowerBound, run.upperBound, .leaves(records[i..<i + n].map { RFC6962.leafHash($0) })))
                i += n
            }
        }
        for s in digest.skipped {
            guard isSequenceRange(s.from, s.to) else { return failure + ": a Skipped range [\(s.from), \(s.to)] is empty or not positive" }
            let nodes = MerkleNode.decompose(UInt64(s.from - 1)..<UInt64(s.to))
            guard nodes.count == s.subtrees.count else {
                return failure + ": Skipped [\(s.from), \(s.to)] needs \(nodes.count) subtree hashes, not \(s.subtrees.count)"
            }
            segments.append((s.from, s.to, .subtrees(Array(zip(nodes, s.subtrees)))))
        }
        segments.sort { $0.first < $1.first }
        var range = digest.treeStart
        var next = Int64(range.size) + 1
        for s in segments {
            if s.first < next { return failure + ": sequence \(s.first) is covered twice or precedes TreeStart (size \(digest.treeStart.size))" }
            if s.first > next { return failure + ": sequences \(next)...\(s.first - 1) are in no file and no skipped range" }
            switch s.part {
            case .leaves(let hashes):
                for h in hashes { range.append(h) }
            case .subtrees(let nodes):
                for (node, hash) in nodes {
                    do { try range.append(subtree: node, hash: hash) } catch { return failure + ": \(error)" }
                }
            }
            next = s.last + 1
        }
        if next - 1 > checkpointSize { return failure + ": the files reach sequence \(next - 1)" }
        if next - 1 < checkpointSize { return failure + ": sequences \(next)...\(checkpoint.size) are in no file and no skipped range" }
        guard range.root() == checkpoint.root else { return failure }
        return nil
    }
}

// MARK: - Keys

/// Parsing of the object keys a tracking set writes.
public enum BucketKeys {
    public static let digestFolder = "CloudAudit-Digest"

    /// `<prefix>/CloudAudit-Digest/<YYYYMMDDHH>/<AccountId>_CloudAudit-Digest_<TrackId>_<YYYYMMDDTHHmmssZ>.json`
    public struct DigestKey: Sendable, Equatable {
        public var key: String
        public var accountId: Int64
        public var trackId: Int64
        /// The digest's end time, from the key.
        public var time: Int64
    }

    /// `<prefix>/<YYYYMMDDHH>/<AccountId>_CloudAudit_<Region>_<YYYYMMDDTHHmmssZ>_<TrackId>_<FirstSeq>.json[.gz][.enc]`
    public struct LogFileKey: Sendable, Equatable {
        public var key: String
        public var accountId: Int64
        public var region: String
        public var time: Int64
        public var trackId: Int64
        public var firstSequence: Int64
        public var compressed: Bool
        public var encrypted: Bool
    }

    public static func digest(_ key: String) -> DigestKey? {
        let segments = key.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count >= 3, segments[segments.count - 3] == digestFolder else { return nil }
        var name = segments[segments.count - 1]
        guard name.hasSuffix(".json") else { return nil }
        name = name.dropLast(5)
        let parts = name.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[1] == "CloudAudit-Digest", let account = Int64(parts[0]), let track = Int64(parts[2]),
              let time = UTCTime.parseBasicTimestamp(parts[3]) else { return nil }
        return DigestKey(key: key, accountId: account, trackId: track, time: time)
    }

    public static func logFile(_ key: String) -> LogFileKey? {
        guard let slash = key.lastIndex(of: "/") else { return nil }
        var name = key[key.index(after: slash)...]
        var encrypted = false, compressed = false
        if name.hasSuffix(".enc") {
            encrypted = true
            name = name.dropLast(4)
        }
        if name.hasSuffix(".json.gz") {
            compressed = true
            name = name.dropLast(8)
        } else if name.hasSuffix(".json") {
            name = name.dropLast(5)
        } else {
            return nil
        }
        let parts = name.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count >= 6, parts[1] == "CloudAudit", let account = Int64(parts[0]), let first = Int64(parts[parts.count - 1]),
              let track = Int64(parts[parts.count - 2]), let time = UTCTime.parseBasicTimestamp(parts[parts.count - 3]) else { return nil }
        let region = parts[2..<(parts.count - 3)].joined(separator: "_")
        return LogFileKey(key: key, accountId: account, region: region, time: time, trackId: track, firstSequence: first,
                          compressed: compressed, encrypted: encrypted)
    }
}

// MARK: - Report

/// What `BucketVerifier.verify()` found. `isValid` when there is no problem.
public struct BucketVerificationReport: Codable, Sendable, Equatable {
    public var bucket: String
    public var prefix: String
    public var trackId: Int64
    public var accountId: Int64?
    public var startTime: Int64?
    public var endTime: Int64?
    public var checkedAt: Int64
    public var accounts: [Int64] = []
    public var digests: [DigestResult] = []
    public var logFiles: [LogFileResult] = []
    public var problems: [Problem] = []
    /// Per account, the delivered files no digest lists yet (see ``PendingCoverage``).
    public var pending: [PendingCoverage] = []
    public var summary = Summary()
    /// No problem was found (pending files are not problems).
    public var isValid = true
    /// Every delivered file (of the range) is listed by a valid digest: nothing is pending.
    public var isComplete = true
    public var verdict = Verdict.verified

    /// What a run found, as one word (`cloudaudit verify` maps it to its exit status).
    public enum Verdict: String, Codable, Sendable {
        /// No problem, and every delivered file is listed by a valid digest and checked (exit 0).
        case verified
        /// No problem in what the digests list, but some delivered files are not listed by a digest
        /// yet: they are not verified until it is written (exit 3).
        case pending
        /// At least one problem (exit 1).
        case failed
        /// No digest and no log file of the track (in the range): nothing was checked (exit 1).
        case nothing
    }

    public init(bucket: String, prefix: String, trackId: Int64, accountId: Int64?, startTime: Int64?, endTime: Int64?, checkedAt: Int64) {
        self.bucket = bucket
        self.prefix = prefix
        self.trackId = trackId
        self.accountId = accountId
        self.startTime = startTime
        self.endTime = endTime
        self.checkedAt = checkedAt
    }

    public struct Summary: Codable, Sendable, Equatable {
        public var digests = 0
        public var validDigests = 0
        public var forgedDigests = 0
        /// Files listed by valid digests, plus unexpected ones.
        public var logFiles = 0
        public var validLogFiles = 0
        public var missing = 0
        public var moved = 0
        public var modified = 0
        public var unreadable = 0
        public var unexpected = 0
        public var pending = 0
        public var gaps = 0
        public var logChecksVerified = 0
        public var logChecksFailed = 0
        public var logChecksNotChecked = 0
        public var problems = 0

        public init() {}

        public init(_ r: BucketVerificationReport) {
            digests = r.digests.count
            validDigests = r.digests.filter { $0.status == .valid }.count
            forgedDigests = digests - validDigests
            let files = r.logFiles.filter { $0.status != .pending }
            logFiles = files.count
            validLogFiles = files.filter { $0.status == .valid }.count
            missing = files.filter { $0.status == .missing }.count
            moved = files.filter { $0.status == .moved }.count
            modified = files.filter { $0.status == .modified }.count
            unreadable = files.filter { $0.status == .unreadable }.count
            unexpected = files.filter { $0.status == .unexpected }.count
            pending = r.logFiles.count - files.count
            gaps = r.problems.filter { $0.kind == .gap || $0.kind == .chain }.count
            let checks = r.digests.filter { $0.status == .valid }.compactMap(\.logCheck)
            logChecksVerified = checks.filter { $0.status == .verified }.count
            logChecksFailed = checks.filter { $0.status == .failed }.count
            logChecksNotChecked = checks.filter { $0.status == .notChecked }.count
            problems = r.problems.count
        }

        /// `N/N digest files valid, N/N log files valid; ...`
        public var line: String {
            var out = "\(validDigests)/\(digests) digest files valid, \(validLogFiles)/\(logFiles) log files valid"
            var more = ["\(logChecksVerified) log check\(logChecksVerified == 1 ? "" : "s") passed", "\(logChecksFailed) failed"]
            if logChecksNotChecked > 0 { more.append("\(logChecksNotChecked) not checked") }
            if gaps > 0 { more.append("\(gaps) chain problem\(gaps == 1 ? "" : "s")") }
            if pending > 0 { more.append("\(pending) pending file\(pending == 1 ? "" : "s")") }
            out += "; " + more.joined(separator: ", ")
            return out
        }
    }
}

/// An account's delivered files that no digest lists yet: written after its newest valid digest and
/// less than twice the digest interval ago. Not a problem, but not verified: their digest is due by
/// `nextDigestDue`.
public struct PendingCoverage: Codable, Sendable, Equatable {
    public var accountId: Int64
    /// How many log files wait for their digest.
    public var files: Int
    /// The key times (Unix seconds) of the oldest and the newest of them.
    public var oldestFileTime: Int64
    public var newestFileTime: Int64
    /// The end time of the account's newest valid digest; nil before its first digest.
    public var lastDigestEndTime: Int64?
    /// When the digest that lists them is due at the latest (Unix seconds): the newest digest's end
    /// plus the digest interval; before the first digest, the oldest file's key time plus the interval
    /// (the first period starts before the set's first file). A server that is stopped, or whose
    /// deliveries fail, writes it later; a set that is stopped gets its digest at once.
    public var nextDigestDue: Int64

    public init(accountId: Int64, files: Int, oldestFileTime: Int64, newestFileTime: Int64, lastDigestEndTime: Int64?, nextDigestDue: Int64) {
        self.accountId = accountId
        self.files = files
        self.oldestFileTime = oldestFileTime
        self.newestFileTime = newestFileTime
        self.lastDigestEndTime = lastDigestEndTime
        self.nextDigestDue = nextDigestDue
    }
}

public struct DigestResult: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case valid, forged
    }

    public var key: String
    public var accountId: Int64
    public var status: Status
    /// Why it is forged.
    public var reason: String?
    public var startTime: Int64?
    public var endTime: Int64?
    public var previousKey: String?
    public var treeStartSize: UInt64?
    /// Its checkpoint's tree size.
    public var treeSize: UInt64?
    public var logFileCount: Int?
    public var logCheck: LogCheck?

    public init(key: String, accountId: Int64, status: Status, reason: String? = nil) {
        self.key = key
        self.accountId = accountId
        self.status = status
        self.reason = reason
    }
}

/// Whether a digest's files rebuild its checkpoint.
public struct LogCheck: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case verified
        case failed
        /// Not possible: a file is missing or modified, or encrypted without a key store.
        case notChecked = "not-checked"
    }

    public var status: Status
    public var detail: String?

    public init(status: Status, detail: String?) {
        self.status = status
        self.detail = detail
    }
}

public struct LogFileResult: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// Listed by a valid digest and as listed.
        case valid
        /// Listed, not in the bucket.
        case missing
        /// Listed, not at its key, but an unlisted object has its content (`movedTo`).
        case moved
        /// Listed, and its stored bytes differ from the digest.
        case modified
        /// Listed and as stored, but it cannot be decrypted or decompressed, or its lines differ from the digest.
        case unreadable
        /// Listed by no valid digest although one should list it.
        case unexpected
        /// Listed by no digest yet: written after the newest digest and less than 2 digest intervals
        /// ago. Not a problem, but not verified (the report's verdict is then `.pending`).
        case pending
    }

    public var key: String
    public var accountId: Int64?
    public var status: Status
    /// The digest that lists it.
    public var digestKey: String?
    public var movedTo: String?
    public var reason: String?
    public var events: Int?
    /// Whether its JSON lines were read and checked (SHA256, line count), not only the stored object.
    public var contentChecked: Bool

    public init(key: String, accountId: Int64?, status: Status, digestKey: String?, movedTo: String?, reason: String?, events: Int?,
                contentChecked: Bool) {
        self.key = key
        self.accountId = accountId
        self.status = status
        self.digestKey = digestKey
        self.movedTo = movedTo
        self.reason = reason
        self.events = events
        self.contentChecked = contentChecked
    }
}

public struct Problem: Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable {
        /// A digest that is not valid (signature, key, checkpoint).
        case forged
        /// The chain misses a digest, restarts, or a TreeStart does not continue the previous checkpoint.
        case gap
        /// The chain is inconsistent: previous signature, a skipped or looping digest.
        case chain
        case missing, moved, modified, unreadable, unexpected
        /// A digest's files do not rebuild its checkpoint.
        case log

        var order: Int {
            switch self {
            case .forged: return 0
            case .gap: return 1
            case .chain: return 2
            case .missing: return 3
            case .moved: return 4
            case .modified: return 5
            case .unreadable: return 6
            case .unexpected: return 7
            case .log: return 8
            }
        }
    }

    public var kind: Kind
    /// The digest or log file concerned.
    public var key: String
    /// Another object involved (the previous digest, where a file moved).
    public var related: String?
    public var message: String

    public init(kind: Kind, key: String, related: String? = nil, message: String) {
        self.kind = kind
        self.key = key
        self.related = related
        self.message = message
    }

    /// `KIND  <key>: message`
    public var description: String { "\(kind.rawValue.uppercased())  \(key): \(message)" }
}
