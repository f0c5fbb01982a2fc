import ArgumentParser
import AuditClient
import AuditConfiguration
import AuditDelivery
import AuditIntegrity
import AuditModel
import AuditObjectStorage
import AuditServer
import AuditStore
import AuditVerify
import Foundation
import Logging

/// `cloudaudit verify`: checks a tracking set's bucket offline (digest chain, log files, the log itself).
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a tracking set's delivered files and digests against the deployment's public key (offline).",
        discussion: """
            Reads the bucket (a folder, or a region's object store) and checks, for every account of the \
            set: the digest chain (signatures by a pinned key, PreviousDigestKey/Signature links, TreeStart \
            continuing the previous checkpoint), every log file a valid digest lists (SHA-256 of the object \
            and of its JSON lines, event count), files that no digest lists, and the log itself: the \
            events of each digest's files (plus its Skipped subtrees) must rebuild its signed checkpoint. \
            No server is needed.

            The bucket: --folder <data-dir>/buckets/<bucket> (a folder of the local region or a copy), or \
            --region R --bucket B with the regions file of the deployment (--regions; the local region \
            is <data-dir>/buckets).

            --prefix defaults to the only storage prefix of the bucket that holds files of the set; when \
            several do, --prefix is required.

            --public-key (repeatable): a public key <name>+<hash>+<base64> (`cloudaudit keys \
            signing-public`), a file with one per line, or the deployment's signing-keys.json.

            Encrypted files (.enc) are checked as stored without any key; pass --data-dir to decrypt them \
            with the deployment's key store and check the log from them too.

            With --start/--end, the digests from --start up to the first one after --end are checked, \
            and unlisted files whose key time is inside the range.

            Pending files: the server writes a set's digest every --digest-interval (serve flag; 3600 s, \
            hourly, by default), so the newest files are not listed by any digest yet. A file no digest \
            lists, written after the account's newest digest and less than 2 x --digest-interval ago, \
            is pending: not a problem, but not verified either. Everything the digests list is checked; \
            each account with pending files gets a PENDING line with their number and the time its \
            next digest is due, and the exit status is 3. Older unlisted files are UNEXPECTED. Give \
            --digest-interval the server's value. To check only what must already be covered (exit 0 \
            or 1, never 3), pass --end two intervals ago (--end -2h with hourly digests).

            Output: one line per problem (FORGED, GAP, CHAIN, MISSING, MOVED, MODIFIED, UNREADABLE, \
            UNEXPECTED, LOG), one PENDING line per account with pending files, then `N/N digest files \
            valid, N/N log files valid; ...` (with `N pending files`), and, when files are pending, a \
            last line saying when to run verify again. --output json has the same report, with \
            Verdict (verified, pending, failed, nothing), IsValid (no problem found), IsComplete \
            (nothing pending), Pending (per account: Files, NextDigestDue...) and ExitStatus.

            Exit status: 0 every file was verified (each delivered file is listed by a valid digest, \
            and nothing is wrong); 1 a problem was found, or there was nothing to verify; 2 the bucket \
            or the keys could not be read; 3 nothing wrong was found, but some files are pending (not \
            listed by a digest yet): run verify again after the next digest; 64 invalid arguments.
            """)

    /// Exit status when nothing is wrong but some delivered files are not listed by a digest yet.
    static let exitPending: Int32 = 3

    @Option(help: ArgumentHelp("A bucket folder, e.g. <data-dir>/buckets/<bucket>.", valueName: "dir"))
    var folder: String?

    @Option(help: "The region of the bucket (with --bucket).")
    var region: String?

    @Option(help: "The bucket (with --region).")
    var bucket: String?

    @Option(help: ArgumentHelp("The deployment's regions file, for --region.", valueName: "file"))
    var regions: String?

    @Option(help: "The set's storage prefix (default: the only one in the bucket).")
    var prefix: String?

    @Option(name: .customLong("track"), help: ArgumentHelp("The tracking set's id.", valueName: "id"))
    var trackId: Int64

    @Option(name: .customLong("public-key"), help: ArgumentHelp("A trusted public key, or a file of them (repeatable).", valueName: "key-or-file"))
    var publicKeys: [String] = []

    @Option(name: .customLong("account"), help: ArgumentHelp("Check only this account.", valueName: "id"))
    var accountId: Int64?

    @Option(parsing: .unconditional, help: "Oldest time to check (Unix seconds, RFC 3339, a date, -7d...).")
    var start: String?

    @Option(parsing: .unconditional, help: "Newest time to check.")
    var end: String?

    @Option(help: ArgumentHelp("The set's digest interval in seconds (the server's --digest-interval).", valueName: "seconds"))
    var digestInterval: Int64 = 3600

    @Option(help: ArgumentHelp("The deployment's data directory: its key store decrypts .enc files (and it holds the local region's buckets).",
                               valueName: "dir"))
    var dataDir: String?

    @Option(help: ArgumentHelp("The deployment's configuration file, as given to `serve --config` (its data directory, regions file, master key).",
                               valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("The PostgreSQL store of a deployment of many nodes, whose key store decrypts .enc files (password from PGPASSWORD or --store-password-file; the master key from CLOUDAUDIT_MASTER_KEY or --data-dir).",
                               valueName: "postgres://USER@HOST:PORT/DATABASE"))
    var store: String?

    @Option(help: ArgumentHelp("An owner-only file holding the store's password.", valueName: "file"))
    var storePasswordFile: String?

    @Option(help: "text or json.")
    var output: EventsCommand.SummaryFormat = .text

    /// The deployment's settings (the model `serve` reads): flags, environment, `--config`, defaults.
    func settings() throws -> ServerConfiguration {
        var flags: [String: String] = [:]
        if let dataDir { flags["data-dir"] = dataDir }
        if let regions { flags["regions"] = regions }
        if let store { flags["store"] = store }
        if let storePasswordFile { flags["store-password-file"] = storePasswordFile }
        do { return try ServerConfiguration.resolve(flags: flags, configFile: config).0 } catch let e as ConfigurationError {
            throw CommandFailure(e.description, exitCode: 2)
        }
    }

    @Flag(help: "Also list every digest and log file with its status (text output).")
    var verbose = false

    func validate() throws {
        if folder != nil {
            guard region == nil, bucket == nil else { throw ValidationError("use either --folder or --region with --bucket, not both") }
        } else {
            guard region != nil, bucket != nil else { throw ValidationError("give --folder DIR, or --region R and --bucket B") }
        }
        guard !publicKeys.isEmpty else { throw ValidationError("--public-key is required: the deployment's public key (`cloudaudit keys signing-public`)") }
        guard digestInterval >= 1 else { throw ValidationError("--digest-interval must be at least 1 second") }
        let now = Int64(Date().timeIntervalSince1970)
        if let start, EventsCommand.TimeArgument.parse(start, now: now) == nil { throw ValidationError("--start \"\(start)\" is not a time") }
        if let end, EventsCommand.TimeArgument.parse(end, now: now) == nil { throw ValidationError("--end \"\(end)\" is not a time") }
        if let s = start.flatMap({ EventsCommand.TimeArgument.parse($0, now: now) }), let e = end.flatMap({ EventsCommand.TimeArgument.parse($0, now: now) }),
           s > e {
            throw ValidationError("--start is after --end")
        }
        if let prefix, prefix.isEmpty || prefix.contains("/") { throw ValidationError("--prefix is one folder name, without /") }
    }

    func run() async throws {
        let now = Int64(Date().timeIntervalSince1970)
        let keys = try TrustedKeys.load(publicKeys)

        // The deployment's settings, read once, when a region's bucket or the key store is wanted.
        let deployment = folder == nil || dataDir != nil || config != nil || self.store != nil ? try settings() : nil

        // The bucket.
        let store: any ObjectStore
        let bucketName: String
        if let folder {
            var path = (folder as NSString).standardizingPath
            while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CommandFailure("\(folder) is not a folder", exitCode: 2)
            }
            let url = URL(fileURLWithPath: path)
            bucketName = url.lastPathComponent
            store = FileSystemObjectStore(root: url.deletingLastPathComponent().path)
        } else {
            let deployment = try deployment ?? settings()
            let registry = try RegionRegistry.load(file: deployment.regionsFile, dataDirectory: deployment.dataDirectory, logger: Logger(label: "cloudaudit"))
            guard let r = registry.region(region!) else {
                let names = registry.regions.map(\.name).joined(separator: ", ")
                throw CommandFailure("region \(region!) is not configured (configured: \(names)); pass the deployment's --regions file", exitCode: 2)
            }
            store = r.store
            bucketName = bucket!
            guard try await store.bucketExists(bucketName) else { throw CommandFailure("bucket \(bucketName) does not exist in \(region!)", exitCode: 2) }
        }

        // The prefix.
        let prefix: String
        if let p = self.prefix {
            prefix = p
        } else {
            let found = try await BucketVerifier.prefixes(store: store, bucket: bucketName, trackId: trackId)
            switch found.count {
            case 1: prefix = found[0]
            case 0: throw CommandFailure("bucket \(bucketName) holds no digest or log file of track \(trackId)", exitCode: 1)
            default:
                throw CommandFailure("bucket \(bucketName) holds files of track \(trackId) under several prefixes (\(found.joined(separator: ", "))); choose one with --prefix",
                                            exitCode: 2)
            }
        }

        // The key store, to decrypt.
        var closeStore: (() async throws -> Void)?
        var decrypt: BucketVerifier.Decryptor?
        if dataDir != nil || config != nil || self.store != nil {
            let (vault, close) = try await Self.openKeyVault(try deployment ?? settings())
            decrypt = { try await vault.decrypt($0) }
            closeStore = close
        }

        let parse = { (text: String?) in text.flatMap { EventsCommand.TimeArgument.parse($0, now: now) } }
        let verifier = BucketVerifier(store: store, bucket: bucketName, prefix: prefix, trackId: trackId, accountId: accountId, keys: keys,
                                      start: parse(start), end: parse(end), digestInterval: digestInterval, now: now, decrypt: decrypt)
        let report: BucketVerificationReport
        do {
            report = try await verifier.verify()
            try? await closeStore?()
        } catch {
            try? await closeStore?()
            throw error
        }

        let status = Self.exitStatus(report.verdict)
        switch output {
        case .json:
            print(try Self.json(report, exitStatus: status))
        case .text:
            print(Self.text(report, verbose: verbose, now: now), terminator: "")
            if report.verdict == .nothing {
                EventsCommand.Terminal.error("nothing to verify: no digest or log file of track \(trackId) under \(bucketName)/\(prefix)/"
                    + (accountId.map { " for account \($0)" } ?? "") + (start != nil || end != nil ? " in the time range" : ""))
            }
        }
        if status != 0 { throw ExitCode(status) }
    }

    static func exitStatus(_ verdict: BucketVerificationReport.Verdict) -> Int32 {
        switch verdict {
        case .verified: return 0
        case .pending: return exitPending
        case .failed, .nothing: return 1
        }
    }

    static func openKeyVault(_ deployment: ServerConfiguration) async throws -> (KeyVault, () async throws -> Void) {
        let opened: (storage: Storage, masterKey: [UInt8])
        do {
            opened = try await Deployment(deployment).openExisting(logger: Logger(label: "cloudaudit"))
        } catch let e as ServerError {
            throw CommandFailure(e.description, exitCode: 2)
        }
        return (KeyVault(keys: opened.storage.kmsKeys, masterKey: opened.masterKey), { try await opened.storage.close() })
    }

    // MARK: Output

    static func text(_ r: BucketVerificationReport, verbose: Bool, now: Int64) -> String {
        var out = ""
        if verbose {
            for d in r.digests {
                var line = "digest  \(d.status.rawValue.uppercased())  \(d.key)"
                if let size = d.treeSize { line += "  size \(d.treeStartSize ?? 0)->\(size)" }
                if let c = d.logCheck { line += "  log \(c.status.rawValue)" + (c.detail.map { " (\($0))" } ?? "") }
                if let why = d.reason { line += "  \(why)" }
                out += line + "\n"
            }
            for f in r.logFiles {
                var line = "file    \(f.status.rawValue.uppercased())  \(f.key)"
                if let to = f.movedTo { line += " -> \(to)" }
                if let why = f.reason { line += "  \(why)" }
                out += line + "\n"
            }
        }
        for p in r.problems { out += p.description + "\n" }
        for p in r.pending { out += pendingLine(p, now: now) + "\n" }
        // Log checks that could not run for want of keys are not problems, but say so.
        var notes: [String: Int] = [:]
        for d in r.digests where d.status == .valid {
            if let c = d.logCheck, c.status == .notChecked, let detail = c.detail, detail.hasPrefix("encrypted") { notes[detail, default: 0] += 1 }
        }
        for (detail, n) in notes.sorted(by: { $0.key < $1.key }) {
            out += "NOTE  log check of \(n) digest\(n == 1 ? "" : "s") not checked (\(detail))\n"
        }
        out += r.summary.line + "\n"
        if r.verdict == .pending, let due = r.pending.map(\.nextDigestDue).max() {
            let n = r.pending.reduce(0) { $0 + $1.files }
            let again = due >= now ? "after \(timeText(due))" : "once the server writes the next digest (due by \(timeText(due)))"
            out += "NOT YET VERIFIED: nothing wrong found in what the digests list, but \(n) log file\(n == 1 ? " is" : "s are") "
                + "not listed by a digest yet; run verify again \(again) (exit status \(exitPending))\n"
        }
        return out
    }

    /// `PENDING  account A: N log files not yet listed by a digest (...); the next digest is due by T (in ...)`
    static func pendingLine(_ p: PendingCoverage, now: Int64) -> String {
        let files = p.files == 1 ? "1 log file" : "\(p.files) log files"
        let times = p.oldestFileTime == p.newestFileTime
            ? "key time \(timeText(p.oldestFileTime))" : "key times \(timeText(p.oldestFileTime)) to \(timeText(p.newestFileTime))"
        let since = p.lastDigestEndTime.map { "the newest digest ends \(timeText($0))" } ?? "no digest yet"
        var line = "PENDING  account \(p.accountId): \(files) not yet listed by a digest (\(times); \(since)); "
        if p.nextDigestDue >= now {
            line += "the next digest is due by \(timeText(p.nextDigestDue)) (in \(durationText(p.nextDigestDue - now)))"
        } else {
            line += "the next digest was due by \(timeText(p.nextDigestDue)) (\(durationText(now - p.nextDigestDue)) ago; "
                + "a stopped server, or one that cannot write to the bucket, writes it late)"
        }
        return line
    }

    /// RFC 3339, UTC: `2026-11-21T07:33:03Z`.
    static func timeText(_ t: Int64) -> String {
        UTCTime(t).dateTime.replacingOccurrences(of: " ", with: "T") + "Z"
    }

    /// `42 s`, `12 min`, `1 h 5 min`.
    static func durationText(_ seconds: Int64) -> String {
        if seconds < 60 { return "\(seconds) s" }
        let minutes = (seconds + 30) / 60
        if minutes < 60 { return "\(minutes) min" }
        return minutes % 60 == 0 ? "\(minutes / 60) h" : "\(minutes / 60) h \(minutes % 60) min"
    }

    static func json(_ r: BucketVerificationReport, exitStatus: Int32) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .custom { path in PascalKey(path.last!.stringValue) }
        var data = try encoder.encode(r)
        // The summary line too, for scripts that print it.
        if var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] {
            object["SummaryLine"] = r.summary.line
            object["ExitStatus"] = Int(exitStatus)
            data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A coding key with its first letter upper-cased (the API's member style).
struct PascalKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name.prefix(1).uppercased() + name.dropFirst() }
    init?(stringValue: String) { self.init(stringValue) }
    init?(intValue: Int) { return nil }
}

/// The public keys given with `--public-key`: a verifier key, a file with one per line, or the
/// deployment's signing-keys.json (objects with a "VerifierKey" member).
enum TrustedKeys {
    static func load(_ arguments: [String]) throws -> [PublicSigningKey] {
        var keys: [PublicSigningKey] = []
        for argument in arguments {
            let text = argument.trimmingCharacters(in: .whitespacesAndNewlines)
            if let key = try? PublicSigningKey(verifierKey: text) {
                keys.append(key)
                continue
            }
            guard let data = FileManager.default.contents(atPath: argument) else {
                if text.contains("+") {
                    // Looks like a key: say why it is not one.
                    do { _ = try PublicSigningKey(verifierKey: text) } catch { throw CommandFailure("--public-key: \(error)", exitCode: 2) }
                }
                throw CommandFailure("--public-key \(argument) is neither a public key (<name>+<hash>+<base64>) nor a readable file", exitCode: 2)
            }
            let found = try parse(Array(data), file: argument)
            guard !found.isEmpty else { throw CommandFailure("\(argument) holds no public key", exitCode: 2) }
            keys += found
        }
        var seen = Set<PublicSigningKey>()
        return keys.filter { seen.insert($0).inserted }
    }

    static func parse(_ bytes: [UInt8], file: String) throws -> [PublicSigningKey] {
        let text = String(decoding: bytes, as: UTF8.self)
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("[") || trimmed.hasPrefix("{") {
            guard let json = try? JSONParser.parse(bytes) else { throw CommandFailure("\(file) is not valid JSON", exitCode: 2) }
            var texts: [String] = []
            func collect(_ v: JSONValue) {
                switch v {
                case .array(let items): items.forEach(collect)
                case .object(let o):
                    for (k, value) in o.fields {
                        if k == "VerifierKey", let s = value.stringValue { texts.append(s) } else { collect(value) }
                    }
                default: break
                }
            }
            collect(json)
            return try texts.map { t in
                do { return try PublicSigningKey(verifierKey: t) } catch { throw CommandFailure("\(file): \(error)", exitCode: 2) }
            }
        }
        var out: [PublicSigningKey] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let l = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if l.isEmpty || l.hasPrefix("#") { continue }
            do { out.append(try PublicSigningKey(verifierKey: l)) } catch { throw CommandFailure("\(file), line \(i + 1): \(error)", exitCode: 2) }
        }
        return out
    }
}

// MARK: - verify-event

/// `cloudaudit verify-event EVENTID`: proves through the API that one event is in the account's signed
/// log, unchanged, and (with --checkpoint) that the log only grew since a checkpoint saved earlier.
struct VerifyEventCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-event",
        abstract: "Prove that an event is in the account's signed log, unchanged (through the API).",
        discussion: """
            Asks the server for the event's inclusion proof (GetInclusionProof) and its record \
            (LookUpEvents), then checks on this side: the checkpoint is signed by a pinned key \
            (--public-key), the record hashes to the leaf recorded when it was appended, and the proof \
            leads from that leaf to the checkpoint's root. With --checkpoint FILE (a checkpoint note saved \
            earlier, e.g. with --save-checkpoint or from GetCheckpoint), the current log must also be an \
            extension of it (GetConsistencyProof): a log rewritten since fails here.

            Credentials: TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, as for `events`.

            Exit status: 0 verified, 1 a check failed, 2 a request failed or an input could not be read.
            """)

    @OptionGroup var client: EventsCommand.ClientOptions

    @Argument(help: "The event's EventId.")
    var eventId: String

    @Option(name: .customLong("public-key"), help: ArgumentHelp("A trusted public key, or a file of them (repeatable).", valueName: "key-or-file"))
    var publicKeys: [String] = []

    @Option(help: "Prove inclusion in the log of this size (default: the latest checkpoint).")
    var treeSize: Int64?

    @Option(help: ArgumentHelp("A checkpoint note saved earlier: the log must have only grown since.", valueName: "file"))
    var checkpoint: String?

    @Option(help: ArgumentHelp("Save the verified checkpoint note to this file (for a later --checkpoint).", valueName: "file"))
    var saveCheckpoint: String?

    @Option(help: "text or json.")
    var output: EventsCommand.SummaryFormat = .text

    func validate() throws {
        guard !publicKeys.isEmpty else { throw ValidationError("--public-key is required: the deployment's public key (`cloudaudit keys signing-public`)") }
        guard !eventId.isEmpty else { throw ValidationError("the EventId is empty") }
        if let treeSize, treeSize < 1 { throw ValidationError("--tree-size must be at least 1") }
    }

    struct Check: Encodable {
        var name: String
        var passed: Bool
        var detail: String
    }

    struct Result: Encodable {
        var eventId: String
        var verified: Bool
        var verdict: String
        var accountId: Int64?
        var leafIndex: UInt64?
        var treeSize: UInt64?
        var rootHash: String?
        var checks: [Check] = []
    }

    func run() async throws {
        let keys = try TrustedKeys.load(publicKeys)
        let saved: (note: String, checkpoint: Checkpoint)?
        if let file = checkpoint {
            guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure("cannot read \(file)", exitCode: 2) }
            let note = String(decoding: data, as: UTF8.self)
            do {
                saved = (note, try Checkpoint.open(note, keys: keys))
            } catch {
                throw CommandFailure("the saved checkpoint \(file) does not verify: \(error)", exitCode: 2)
            }
        } else {
            saved = nil
        }
        let api = try client.makeClient()
        var result = Result(eventId: eventId, verified: false, verdict: "")
        func fail(_ name: String, _ detail: String) { result.checks.append(Check(name: name, passed: false, detail: detail)) }
        func pass(_ name: String, _ detail: String) { result.checks.append(Check(name: name, passed: true, detail: detail)) }

        // 1. The proof and the checkpoint.
        var params: [String: Any] = ["EventId": eventId]
        if let treeSize { params["TreeSize"] = treeSize }
        let proof = try await api.callJSON(action: "GetInclusionProof", params: params)
        guard let index = (proof["LeafIndex"] as? NSNumber)?.int64Value, index >= 0,
              let size = (proof["TreeSize"] as? NSNumber)?.int64Value, size > index,
              let leafHex = proof["LeafHash"] as? String, let serverLeaf = [UInt8](hex: leafHex), serverLeaf.count == 32,
              let pathHex = proof["AuditPath"] as? [String], let note = proof["Checkpoint"] as? String
        else {
            throw CommandFailure("GetInclusionProof: the response lacks LeafIndex, TreeSize, LeafHash, AuditPath or Checkpoint", exitCode: 2)
        }
        let auditPath = try pathHex.map { h -> [UInt8] in
            guard let b = [UInt8](hex: h) else { throw CommandFailure("GetInclusionProof: an AuditPath hash is not hex", exitCode: 2) }
            return b
        }
        result.leafIndex = UInt64(index)
        var current: Checkpoint?
        do {
            let (body, signer) = try SignedNote.open(note, keys: keys)
            let cp = try Checkpoint.parse(body: body)
            let originPrefix = signer.name + "/accounts/"
            guard cp.origin.hasPrefix(originPrefix), let account = Int64(cp.origin.dropFirst(originPrefix.count)) else {
                throw IntegrityError("its origin \(cp.origin) is not \(originPrefix)<AccountId>")
            }
            guard cp.size == UInt64(size) else { throw IntegrityError("it is for tree size \(cp.size), the proof for \(size)") }
            result.accountId = account
            result.treeSize = cp.size
            result.rootHash = cp.root.hexString
            current = cp
            pass("checkpoint", "signed by \(signer.name) (\(signer.fingerprint)): account \(account), tree size \(cp.size)")
        } catch {
            fail("checkpoint", "the checkpoint does not verify: \(error)")
        }

        // 2. The record, as stored, against the leaf recorded when it was appended.
        if let record = try await lookUpRecord(api, eventTime: (proof["EventTime"] as? NSNumber)?.int64Value) {
            let leaf = RFC6962.leafHash(Array(record.utf8))
            if leaf == serverLeaf {
                pass("record", "the stored record hashes to leaf \(index)'s hash")
            } else {
                fail("record", "the stored record does not match the leaf recorded when it was appended (modified)")
            }
        } else {
            fail("record", "LookUpEvents does not return the event: its record cannot be checked")
        }

        // 3. Inclusion of the leaf in the checkpoint's tree.
        if let cp = current {
            do {
                try MerkleVerifier.verifyInclusion(leafHash: serverLeaf, index: UInt64(index), size: cp.size, proof: auditPath, root: cp.root)
                pass("inclusion", "leaf \(index) is in the log of \(cp.size) events (\(auditPath.count)-hash audit path)")
            } catch {
                fail("inclusion", "the inclusion proof does not lead to the checkpoint's root: \(error)")
            }
        }

        // 4. Consistency with the saved checkpoint.
        if let saved, let cp = current {
            if saved.checkpoint.origin != cp.origin {
                fail("consistency", "the saved checkpoint is of \(saved.checkpoint.origin), not \(cp.origin)")
            } else if Int64(exactly: saved.checkpoint.size) == nil || Int64(exactly: cp.size) == nil {
                fail("consistency", "a checkpoint's tree size is beyond 2^63, which no log reaches")
            } else {
                let (small, large) = saved.checkpoint.size <= cp.size ? (saved.checkpoint, cp) : (cp, saved.checkpoint)
                do {
                    let response = try await api.callJSON(action: "GetConsistencyProof",
                                                          params: ["FirstTreeSize": Int64(small.size), "SecondTreeSize": Int64(large.size)])
                    let hashes = try (response["Proof"] as? [String] ?? []).map { h -> [UInt8] in
                        guard let b = [UInt8](hex: h) else { throw IntegrityError("a proof hash is not hex") }
                        return b
                    }
                    try MerkleVerifier.verifyConsistency(size1: small.size, size2: large.size, root1: small.root, root2: large.root, proof: hashes)
                    pass("consistency", saved.checkpoint.size <= cp.size
                        ? "the log of \(cp.size) events extends the saved checkpoint of \(saved.checkpoint.size)"
                        : "the saved checkpoint of \(saved.checkpoint.size) events extends this log of \(cp.size)")
                } catch let e as APIErrorResponse where e.code.hasPrefix("InvalidParameterValue.TreeSize") {
                    fail("consistency", "the log is smaller than the saved checkpoint of \(saved.checkpoint.size) events (rolled back): \(e.message)")
                } catch let e as APIErrorResponse {
                    throw e
                } catch let e as APIClientError {
                    throw e
                } catch {
                    fail("consistency", "the log is not consistent with the saved checkpoint (rewritten since): \(error)")
                }
            }
        }

        result.verified = !result.checks.contains { !$0.passed }
        if result.verified {
            result.verdict = "VERIFIED: event \(eventId) is leaf \(index) of account \(result.accountId.map(String.init) ?? "?")'s signed log "
                + "(tree size \(result.treeSize ?? 0)), unchanged since it was appended"
                + (saved != nil ? ", and the log only grew since the saved checkpoint" : "")
            if let file = saveCheckpoint {
                do {
                    try note.write(toFile: file, atomically: true, encoding: .utf8)
                } catch {
                    throw CommandFailure("cannot write \(file): \((error as NSError).localizedDescription)", exitCode: 2)
                }
            }
        } else {
            result.verdict = "NOT VERIFIED: event \(eventId): " + result.checks.filter { !$0.passed }.map(\.detail).joined(separator: "; ")
        }
        switch output {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .custom { path in PascalKey(path.last!.stringValue) }
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
        case .text:
            for c in result.checks { print("\(c.passed ? "ok  " : "FAIL")  \(c.name): \(c.detail)") }
            print(result.verdict)
        }
        if !result.verified { throw ExitCode(1) }
    }

    /// The event's record (`CloudAuditEvent`, the stored record byte for byte), or nil when not found.
    /// `eventTime` (GetInclusionProof's `EventTime`) makes it one LookUpEvents of that second; without it
    /// (an older server) the search starts ten years back and retries from the retention the refusal names.
    func lookUpRecord(_ api: APIClient, eventTime: Int64?) async throws -> String? {
        let now = Int64(Date().timeIntervalSince1970)
        var start = eventTime.map { max($0, 0) } ?? now - 3650 * 86400
        // The server takes an EndTime up to a day after its clock (and keeps no event more than a few
        // minutes ahead): half a day after ours leaves room for a clock that differs either way.
        let end = eventTime.map { min(max($0, 0), Int64.max - 1) + 1 } ?? now + 12 * 3600
        for _ in 0..<2 {
            let params: [String: Any] = ["StartTime": start, "EndTime": end, "MaxResults": 50,
                                         "LookupAttributes": [["AttributeKey": "EventId", "AttributeValue": eventId]]]
            let body = try JSONSerialization.data(withJSONObject: params)
            let bytes = try await api.call(action: "LookUpEvents", body: Array(body))
            do {
                _ = try APIClient.unwrap(bytes, action: "LookUpEvents")
            } catch let e as APIErrorResponse where e.code == "LimitExceeded.OverTime" {
                // Ask again from the account's retention, which the message names.
                let digits = e.message.components(separatedBy: "retention of ").dropFirst().first?.prefix { $0.isNumber } ?? ""
                guard let days = Int64(digits) else { throw e }
                start = now - days * 86400 + 300
                continue
            }
            // Parsed with the project's parser: the record string is kept exactly.
            let events = (try? JSONParser.parse(bytes))?["Response"]?["Events"]?.arrayValue ?? []
            for e in events where e["EventId"]?.stringValue == eventId {
                if let record = e["CloudAuditEvent"]?.stringValue { return record }
            }
            return nil
        }
        return nil
    }
}

// A bucket, key, request or input that could not be read: exit 2 (1 is a failed check).
extension VerifyCommand: FailureStatus { static var failureStatus: Int32 { 2 } }
extension VerifyEventCommand: FailureStatus { static var failureStatus: Int32 { 2 } }
