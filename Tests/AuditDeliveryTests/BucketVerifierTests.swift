@testable import AuditDelivery
import AuditIntegrity
import AuditModel
import AuditObjectStorage
@testable import AuditVerify
import Crypto
import Foundation
import XCTest

/// Builds a realistic bucket of one tracking set (log files, skipped events, chained signed digests)
/// and checks what `BucketVerifier` reports when it is intact and after each kind of tampering.
final class BucketVerifierTests: XCTestCase {
    private var root = ""
    private let bucket = "audit"
    private let prefix = "logs"
    private let track: Int64 = 7
    private let account: Int64 = 100_000_000_001
    private let interval: Int64 = 3600
    private let t0: Int64 = 1_763_700_000 - 1_763_700_000 % 3600
    private var key: SigningKey!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("bucket-verify-\(UUID().uuidString)").path
        key = try SigningKey.generate(name: "cloudaudit")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    // MARK: - Building a bucket

    struct Built {
        var store: FileSystemObjectStore
        /// Digest keys, oldest first.
        var digests: [String]
        /// Log file keys per digest.
        var files: [[String]]
        /// Every record by sequence - 1.
        var records: [[UInt8]]
    }

    func record(_ seq: Int64, account: Int64) -> [UInt8] {
        let action = seq % 5 == 0 ? "Read" : "Write"
        return Array(#"{"eventId":"ev-\#(account)-\#(seq)","eventName":"RunInstances","actionType":"\#(action)","eventTime":\#(t0 + seq)}"#.utf8)
    }

    /// `periods` digests of `eventsPerPeriod` events each; events whose sequence is a multiple of 5 are
    /// filtered out (Skipped) unless `deliverAll`; files hold at most `perFile` events.
    @discardableResult
    func build(account: Int64? = nil, periods: Int = 3, eventsPerPeriod: Int64 = 13, perFile: Int = 4, deliverAll: Bool = false,
               compress: Bool = true, encrypt: Bool = false, signer: SigningKey? = nil,
               tamper: ((Int64, [UInt8]) -> [UInt8])? = nil) async throws -> Built {
        let account = account ?? self.account
        let signer = signer ?? key!
        let store = FileSystemObjectStore(root: root)
        if !(try await store.bucketExists(bucket)) { try await store.createBucket(bucket) }
        let total = Int64(periods) * eventsPerPeriod
        let records = (1...total).map { record($0, account: account) }
        let leaves = records.map { RFC6962.leafHash($0) }
        func subtreeHash(_ node: MerkleNode) -> MerkleHash {
            var r = CompactRange()
            for i in node.begin..<node.end { r.append(leaves[Int(i)]) }
            return r.root()
        }
        var tree = CompactRange()
        var built = Built(store: store, digests: [], files: [], records: records)
        var previous: (key: String, signature: String)?
        for p in 0..<periods {
            let start = Int64(p) * eventsPerPeriod, end = start + eventsPerPeriod
            let treeStart = tree
            for s in start..<end { tree.append(leaves[Int(s)]) }
            let periodStart = t0 + Int64(p) * interval, periodEnd = periodStart + interval
            let delivered = (start + 1...end).filter { deliverAll || $0 % 5 != 0 }
            // Files.
            var logFiles: [DigestFile.LogFile] = []
            var keys: [String] = []
            for (i, chunkStart) in stride(from: 0, to: delivered.count, by: perFile).enumerated() {
                let seqs = Array(delivered[chunkStart..<min(chunkStart + perFile, delivered.count)])
                var lines: [UInt8] = []
                for s in seqs {
                    let r = records[Int(s - 1)]
                    lines += tamper?(s, r) ?? r
                    lines.append(0x0A)
                }
                var body = compress ? Gzip.compress(lines) : lines
                if encrypt { body = Self.fakeEncrypt(body) }
                let keyTime = periodStart + 60 * Int64(i + 1)
                let stamp = UTCTime(keyTime)
                var fileKey = "\(prefix)/\(stamp.compactHour)/\(account)_CloudAudit_ap_guangzhou_\(stamp.basicTimestamp)_\(track)_\(seqs[0]).json"
                if compress { fileKey += ".gz" }
                if encrypt { fileKey += ".enc" }
                try await store.put(bucket: bucket, key: fileKey, body: body, contentType: "application/octet-stream")
                var runs: [ClosedRange<Int64>] = []
                for s in seqs {
                    if let last = runs.last, last.upperBound + 1 == s { runs[runs.count - 1] = last.lowerBound...s } else { runs.append(s...s) }
                }
                logFiles.append(DigestFile.LogFile(key: fileKey, sha256: Array(SHA256.hash(data: lines)), objectSHA256: Array(SHA256.hash(data: body)),
                                                   events: seqs.count, firstEventTime: t0 + seqs[0], lastEventTime: t0 + seqs.last!, sequences: runs))
                keys.append(fileKey)
            }
            // Skipped runs.
            var skipped: [DigestFile.Skipped] = []
            var s = start + 1
            while s <= end {
                if delivered.contains(s) {
                    s += 1
                    continue
                }
                var e = s
                while e + 1 <= end && !delivered.contains(e + 1) { e += 1 }
                let nodes = MerkleNode.decompose(UInt64(s - 1)..<UInt64(e))
                skipped.append(DigestFile.Skipped(from: s, to: e, subtrees: nodes.map(subtreeHash)))
                s = e + 1
            }
            let checkpoint = try Checkpoint(origin: Checkpoint.origin(keyName: signer.name, accountId: account), size: tree.size, root: tree.root(),
                                            time: periodEnd).signed(with: signer)
            let digest = DigestFile(accountId: account, trackId: track, startTime: periodStart, endTime: periodEnd, previousKey: previous?.key,
                                    previousSignature: previous?.signature, treeStart: treeStart, checkpoint: checkpoint, files: logFiles,
                                    skipped: skipped, signingKey: signer.publicKey.verifierKey)
            let (bytes, signature) = try digest.signed(with: signer)
            let digestKey = DigestFile.key(prefix: prefix, accountId: account, trackId: track, endTime: periodEnd)
            try await store.put(bucket: bucket, key: digestKey, body: bytes, contentType: "application/json")
            previous = (digestKey, signature)
            built.digests.append(digestKey)
            built.files.append(keys)
        }
        return built
    }

    /// A reversible stand-in for the envelope: a header, then the bytes XOR 0x5A.
    static func fakeEncrypt(_ bytes: [UInt8]) -> [UInt8] { Array("CAENC".utf8) + bytes.map { $0 ^ 0x5A } }

    static let fakeDecrypt: BucketVerifier.Decryptor = { bytes in
        guard bytes.starts(with: Array("CAENC".utf8)) else { throw IntegrityError("not an envelope") }
        return bytes.dropFirst(5).map { $0 ^ 0x5A }
    }

    func verifier(_ built: Built, keys: [PublicSigningKey]? = nil, now: Int64? = nil, start: Int64? = nil, end: Int64? = nil,
                  decrypt: BucketVerifier.Decryptor? = nil, account: Int64? = nil) -> BucketVerifier {
        BucketVerifier(store: built.store, bucket: bucket, prefix: prefix, trackId: track, accountId: account, keys: keys ?? [key.publicKey],
                       start: start, end: end, digestInterval: interval, now: now ?? t0 + 3 * interval + 600, decrypt: decrypt)
    }

    func path(_ key: String) -> String { root + "/" + bucket + "/" + key }

    func problems(_ r: BucketVerificationReport, _ kind: Problem.Kind) -> [Problem] { r.problems.filter { $0.kind == kind } }

    // MARK: - Tests

    /// A digest's numbers are checked before any arithmetic: sequence runs and sizes near 2^63 (even in a
    /// digest a trusted key signed) are a failure to report, not an overflow that ends verify (found by
    /// FuzzSignedNote's reading of the verifier).
    func testDigestNumbersNearTheEndOfInt64FailInsteadOfTrapping() throws {
        let root = [UInt8](repeating: 7, count: 32)
        func rebuild(sequences: [ClosedRange<Int64>], records: Int, skipped: [DigestFile.Skipped] = [], checkpointSize: UInt64 = 2) -> String? {
            let file = DigestFile.LogFile(key: "f", sha256: [], objectSHA256: [], events: records, firstEventTime: 0, lastEventTime: 0, sequences: sequences)
            let digest = DigestFile(accountId: 1, trackId: 1, startTime: 0, endTime: 1, previousKey: nil, previousSignature: nil,
                                    treeStart: CompactRange(), checkpoint: "", files: [file], skipped: skipped, signingKey: "")
            return BucketVerifier.rebuild(digest, checkpoint: Checkpoint(origin: "o", size: checkpointSize, root: root, time: 0),
                                          lines: ["f": Array(repeating: Array("{}".utf8), count: records)])
        }
        for runs in [[1...Int64.max, 1...Int64.max], [Int64.min...Int64.max], [-5 ... -1], [1...(Int64.max - 1), 1...(Int64.max - 1)]] {
            XCTAssertNotNil(rebuild(sequences: runs, records: 2), "\(runs)")
        }
        XCTAssertNotNil(rebuild(sequences: [1...2], records: 2, checkpointSize: UInt64.max))
        XCTAssertNotNil(rebuild(sequences: [1...2], records: 2, skipped: [DigestFile.Skipped(from: 3, to: Int64.max, subtrees: [])]))
        XCTAssertNotNil(rebuild(sequences: [1...2], records: 2), "a made-up root")
    }

    func testCleanBucketIsValid() async throws {
        let built = try await build()
        try await build(account: 100_000_000_002, periods: 2, deliverAll: true, compress: false)
        let report = try await verifier(built).verify()
        XCTAssertTrue(report.isValid, report.problems.map(\.description).joined(separator: "\n"))
        XCTAssertEqual(report.accounts, [account, 100_000_000_002])
        XCTAssertEqual(report.digests.count, 5)
        XCTAssertTrue(report.digests.allSatisfy { $0.status == .valid && $0.logCheck?.status == .verified })
        let files = built.files.flatMap { $0 }.count
        XCTAssertEqual(report.summary.validDigests, 5)
        XCTAssertTrue(report.logFiles.allSatisfy { $0.status == .valid && $0.contentChecked })
        XCTAssertEqual(report.summary.line.prefix(while: { $0 != ";" }), "5/5 digest files valid, \(report.logFiles.count)/\(report.logFiles.count) log files valid")
        XCTAssertGreaterThan(report.logFiles.count, files)
        XCTAssertEqual(report.summary.logChecksVerified, 5)
        XCTAssertEqual(report.verdict, .verified)
        XCTAssertTrue(report.isComplete)
        XCTAssertEqual(report.pending, [])
        // The report is Codable.
        let data = try JSONEncoder().encode(report)
        XCTAssertEqual(try JSONDecoder().decode(BucketVerificationReport.self, from: data), report)

        // The prefix is found from the bucket.
        let prefixes = try await BucketVerifier.prefixes(store: built.store, bucket: bucket, trackId: track)
        XCTAssertEqual(prefixes, [prefix])
        let none = try await BucketVerifier.prefixes(store: built.store, bucket: bucket, trackId: 99)
        XCTAssertEqual(none, [])

        // One account only.
        let one = try await verifier(built, account: 100_000_000_002).verify()
        XCTAssertTrue(one.isValid)
        XCTAssertEqual(one.digests.count, 2)
    }

    func testFlippedByteIsModified() async throws {
        let built = try await build()
        let target = built.files[1][1]
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path(target))))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path(target)))
        let report = try await verifier(built).verify()
        XCTAssertFalse(report.isValid)
        XCTAssertEqual(problems(report, .modified).map(\.key), [target])
        XCTAssertEqual(problems(report, .modified).first?.description, "MODIFIED  \(target): SHA-256 differs from the digest")
        XCTAssertEqual(report.problems.count, 1, report.problems.map(\.description).joined(separator: "\n"))
        XCTAssertEqual(report.logFiles.first { $0.key == target }?.status, .modified)
        XCTAssertEqual(report.digests.first { $0.key == built.digests[1] }?.logCheck?.status, .notChecked)
        XCTAssertTrue(report.summary.line.hasPrefix("3/3 digest files valid, \(report.logFiles.count - 1)/\(report.logFiles.count) log files valid"))
    }

    func testDeletedFileIsMissingAndRenamedFileIsMoved() async throws {
        let built = try await build()
        let gone = built.files[0][0], moved = built.files[2][1]
        try FileManager.default.removeItem(atPath: path(gone))
        let newKey = prefix + "/elsewhere/copy.json.gz"
        try FileManager.default.createDirectory(atPath: path(prefix + "/elsewhere"), withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: path(moved), toPath: path(newKey))
        let report = try await verifier(built).verify()
        XCTAssertEqual(problems(report, .missing).map(\.key), [gone])
        XCTAssertEqual(problems(report, .moved).map(\.key), [moved])
        XCTAssertEqual(problems(report, .moved).first?.related, newKey)
        XCTAssertEqual(report.logFiles.first { $0.key == moved }?.movedTo, newKey)
        XCTAssertEqual(report.problems.count, 2, report.problems.map(\.description).joined(separator: "\n"))
        XCTAssertEqual(report.digests.first { $0.key == built.digests[0] }?.logCheck?.status, .notChecked)
        // A moved file still has its content: the log is checked from where it is.
        XCTAssertEqual(report.digests.first { $0.key == built.digests[2] }?.logCheck?.status, .verified)
        XCTAssertEqual(report.summary.missing, 1)
        XCTAssertEqual(report.summary.moved, 1)
    }

    func testUnlistedFilesAreUnexpectedOrPending() async throws {
        let built = try await build()
        // A file made up inside a period that a digest already covers.
        let stamp = UTCTime(t0 + interval + 1800)
        let forged = "\(prefix)/\(stamp.compactHour)/\(account)_CloudAudit_ap_guangzhou_\(stamp.basicTimestamp)_\(track)_999.json.gz"
        try await built.store.put(bucket: bucket, key: forged, body: Gzip.compress(Array("{}\n".utf8)), contentType: "application/gzip")
        // A file after the newest digest, but recent: its digest is not written yet.
        let now = t0 + 3 * interval + 600
        let recentStamp = UTCTime(t0 + 3 * interval + 60)
        let recent = "\(prefix)/\(recentStamp.compactHour)/\(account)_CloudAudit_ap_guangzhou_\(recentStamp.basicTimestamp)_\(track)_40.json.gz"
        try await built.store.put(bucket: bucket, key: recent, body: Gzip.compress(Array("{}\n".utf8)), contentType: "application/gzip")
        // Another track's file and an unrelated object are not ours.
        let other = "\(prefix)/\(stamp.compactHour)/\(account)_CloudAudit_ap_guangzhou_\(stamp.basicTimestamp)_8_1.json.gz"
        try await built.store.put(bucket: bucket, key: other, body: [1], contentType: "application/gzip")
        try await built.store.put(bucket: bucket, key: prefix + "/README", body: [1], contentType: "text/plain")

        let report = try await verifier(built, now: now).verify()
        XCTAssertEqual(problems(report, .unexpected).map(\.key), [forged])
        XCTAssertEqual(report.problems.count, 1, report.problems.map(\.description).joined(separator: "\n"))
        XCTAssertEqual(report.logFiles.first { $0.key == recent }?.status, .pending)
        XCTAssertNil(report.logFiles.first { $0.key == other })
        XCTAssertEqual(report.summary.pending, 1)
        // A problem wins over pending files, which are still reported.
        XCTAssertEqual(report.verdict, .failed)
        XCTAssertEqual(report.pending, [PendingCoverage(accountId: account, files: 1, oldestFileTime: t0 + 3 * interval + 60,
                                                        newestFileTime: t0 + 3 * interval + 60, lastDigestEndTime: t0 + 3 * interval,
                                                        nextDigestDue: t0 + 4 * interval)])

        // Much later, the recent file should have been listed long ago.
        let later = try await verifier(built, now: now + 3 * interval).verify()
        XCTAssertEqual(Set(problems(later, .unexpected).map(\.key)), [forged, recent])
    }

    /// A period starts in the second its predecessor ended, so a file written in that second, after the
    /// digest, belongs to the next period: pending, not unexpected (a loaded CI run wrote one).
    func testAFileInTheSecondTheNewestDigestEndedIsPending() async throws {
        let built = try await build()
        let sameSecond = fileKey(time: t0 + 3 * interval, firstSequence: 41)
        try await built.store.put(bucket: bucket, key: sameSecond, body: Gzip.compress(Array("{}\n".utf8)), contentType: "application/gzip")
        let report = try await verifier(built, now: t0 + 3 * interval + 60).verify()
        XCTAssertEqual(report.problems.count, 0, report.problems.map(\.description).joined(separator: "\n"))
        XCTAssertEqual(report.logFiles.first { $0.key == sameSecond }?.status, .pending)
        XCTAssertEqual(report.verdict, .pending)
        // One second earlier, the digest ending after it would have listed it.
        let before = fileKey(time: t0 + 3 * interval - 1, firstSequence: 42)
        try await built.store.put(bucket: bucket, key: before, body: Gzip.compress(Array("{}\n".utf8)), contentType: "application/gzip")
        let again = try await verifier(built, now: t0 + 3 * interval + 60).verify()
        XCTAssertEqual(problems(again, .unexpected).map(\.key), [before])
    }

    /// A file key of the set at `time`, for files no digest lists.
    func fileKey(account: Int64? = nil, time: Int64, firstSequence: Int64) -> String {
        let stamp = UTCTime(time)
        return "\(prefix)/\(stamp.compactHour)/\(account ?? self.account)_CloudAudit_ap_guangzhou_\(stamp.basicTimestamp)_\(track)_\(firstSequence).json.gz"
    }

    /// The normal state of a running set: the digests list every file but the newest few, which wait
    /// for the next digest. Everything listed is verified; the rest is pending, not verified.
    func testNewestFilesWithoutADigestArePendingNotVerified() async throws {
        let built = try await build(periods: 2)
        let newest = [fileKey(time: t0 + 2 * interval + 120, firstSequence: 27), fileKey(time: t0 + 2 * interval + 900, firstSequence: 30)]
        for k in newest { try await built.store.put(bucket: bucket, key: k, body: Gzip.compress(Array("{}\n".utf8)), contentType: "application/gzip") }
        let now = t0 + 2 * interval + 1000
        let report = try await verifier(built, now: now).verify()
        XCTAssertTrue(report.isValid, report.problems.map(\.description).joined(separator: "\n"))
        XCTAssertFalse(report.isComplete)
        XCTAssertEqual(report.verdict, .pending)
        XCTAssertEqual(report.pending, [PendingCoverage(accountId: account, files: 2, oldestFileTime: t0 + 2 * interval + 120,
                                                        newestFileTime: t0 + 2 * interval + 900, lastDigestEndTime: t0 + 2 * interval,
                                                        nextDigestDue: t0 + 3 * interval)])
        // What the digests list is checked all the same.
        let listed = report.logFiles.filter { $0.status != .pending }
        XCTAssertEqual(listed.count, built.files.flatMap { $0 }.count)
        XCTAssertTrue(listed.allSatisfy { $0.status == .valid && $0.contentChecked })
        XCTAssertTrue(report.digests.allSatisfy { $0.logCheck?.status == .verified })
        XCTAssertEqual(Set(report.logFiles.filter { $0.status == .pending }.map(\.key)), Set(newest))
        XCTAssertTrue(report.summary.line.hasSuffix(", 2 pending files"), report.summary.line)
        // The JSON report carries the verdict and the pending files.
        let json = try JSONEncoder().encode(report)
        XCTAssertEqual(try JSONDecoder().decode(BucketVerificationReport.self, from: json), report)

        // Up to the newest digest only (--end): nothing pending, everything verified.
        let closed = try await verifier(built, now: now, end: t0 + 2 * interval).verify()
        XCTAssertEqual(closed.verdict, .verified)
        XCTAssertEqual(closed.pending, [])
    }

    /// Before a set's first digest, every file is pending; the first digest is due at the latest one
    /// interval after the oldest file (the first period starts before the set's first file).
    func testFilesBeforeTheFirstDigestArePending() async throws {
        let store = FileSystemObjectStore(root: root)
        try await store.createBucket(bucket)
        let times = [t0 + 5, t0 + 65, t0 + 125]
        for (i, t) in times.enumerated() {
            try await store.put(bucket: bucket, key: fileKey(time: t, firstSequence: Int64(1 + 4 * i)), body: Gzip.compress(Array("{}\n".utf8)),
                                contentType: "application/gzip")
        }
        let built = Built(store: store, digests: [], files: [], records: [])
        let report = try await verifier(built, now: t0 + 200).verify()
        XCTAssertTrue(report.isValid, report.problems.map(\.description).joined(separator: "\n"))
        XCTAssertEqual(report.verdict, .pending)
        XCTAssertEqual(report.summary.pending, 3)
        XCTAssertEqual(report.summary.logFiles, 0)
        XCTAssertEqual(report.pending, [PendingCoverage(accountId: account, files: 3, oldestFileTime: t0 + 5, newestFileTime: t0 + 125,
                                                        lastDigestEndTime: nil, nextDigestDue: t0 + 5 + interval)])

        // An empty bucket: nothing was checked.
        try await store.createBucket("empty")
        let empty = try await BucketVerifier(store: store, bucket: "empty", prefix: prefix, trackId: track, keys: [key.publicKey], now: t0).verify()
        XCTAssertEqual(empty.verdict, .nothing)
    }

    func testDeletedDigestInTheChainIsAGap() async throws {
        let built = try await build()
        try FileManager.default.removeItem(atPath: path(built.digests[1]))
        let report = try await verifier(built).verify()
        let gaps = problems(report, .gap)
        XCTAssertEqual(gaps.map(\.key), [built.digests[2]])
        XCTAssertEqual(gaps.first?.related, built.digests[1])
        XCTAssertTrue(gaps.first?.message.contains(built.digests[1]) ?? false)
        // Its files are no longer listed by any valid digest, inside the time the chain covers.
        XCTAssertEqual(Set(problems(report, .unexpected).map(\.key)), Set(built.files[1]))
        XCTAssertEqual(report.digests.count, 2)
        XCTAssertTrue(report.digests.allSatisfy { $0.status == .valid && $0.logCheck?.status == .verified })
        XCTAssertTrue(problems(report, .chain).isEmpty, "the older digest continues the chain after the gap")
    }

    func testDeletedNewestDigest() async throws {
        let built = try await build()
        try FileManager.default.removeItem(atPath: path(built.digests[2]))
        // Right after the period, its files are pending: the digest may still come.
        let soon = try await verifier(built, now: t0 + 3 * interval + 600).verify()
        XCTAssertTrue(soon.isValid, soon.problems.map(\.description).joined(separator: "\n"))
        XCTAssertEqual(soon.summary.pending, built.files[2].count)
        XCTAssertEqual(soon.verdict, .pending, "files no digest lists are not verified")
        XCTAssertEqual(soon.pending.map(\.nextDigestDue), [t0 + 3 * interval], "the digest of the period after digest 1 is due")
        // Two intervals later they should have been listed: unexpected.
        let later = try await verifier(built, now: t0 + 6 * interval).verify()
        XCTAssertFalse(later.isValid)
        XCTAssertEqual(Set(problems(later, .unexpected).map(\.key)), Set(built.files[2]))
    }

    func testForgedDigests() async throws {
        let built = try await build()
        // Re-signed by a key the auditor does not trust.
        let mallory = try SigningKey.generate(name: "cloudaudit")
        let bytes1 = try Array(Data(contentsOf: URL(fileURLWithPath: path(built.digests[1]))))
        var d1 = try DigestFile.parse(bytes1)
        d1.files.removeLast()
        d1.signingKey = mallory.publicKey.verifierKey
        try await built.store.put(bucket: bucket, key: built.digests[1], body: try d1.signed(with: mallory).bytes, contentType: "application/json")
        // Altered without re-signing: one byte of the newest digest's file list.
        var bytes2 = try Array(Data(contentsOf: URL(fileURLWithPath: path(built.digests[2]))))
        let events = Array(#""Events":4"#.utf8)
        let at = (0...(bytes2.count - events.count)).first { Array(bytes2[$0..<$0 + events.count]) == events }!
        bytes2[at + events.count - 1] = UInt8(ascii: "3")
        try Data(bytes2).write(to: URL(fileURLWithPath: path(built.digests[2])))

        // Later than two intervals after the newest digest: the files of forged digests are overdue.
        let report = try await verifier(built, now: t0 + 6 * interval).verify()
        let forged = problems(report, .forged)
        XCTAssertEqual(Set(forged.map(\.key)), [built.digests[1], built.digests[2]])
        XCTAssertTrue(forged.first { $0.key == built.digests[1] }!.message.contains("not trusted"), forged.description)
        XCTAssertTrue(forged.first { $0.key == built.digests[2] }!.message.contains("signature does not match"), forged.description)
        XCTAssertEqual(report.digests.first { $0.key == built.digests[1] }?.status, .forged)
        XCTAssertEqual(report.summary.line.prefix(while: { $0 != "," }), "1/3 digest files valid")
        // The files of forged digests are covered by no valid digest; the chain is followed through them.
        XCTAssertEqual(Set(problems(report, .unexpected).map(\.key)), Set(built.files[1] + built.files[2]))
        XCTAssertEqual(report.digests.first { $0.key == built.digests[0] }?.logCheck?.status, .verified)

        // Trusting Mallory's key too: the re-signed digest verifies, but its chain link does not.
        let both = try await verifier(built, keys: [key.publicKey, mallory.publicKey]).verify()
        XCTAssertEqual(both.digests.first { $0.key == built.digests[1] }?.status, .valid)
        XCTAssertEqual(problems(both, .forged).map(\.key), [built.digests[2]])
        // Its checkpoint is still the real one, and its shortened file list no longer rebuilds it.
        XCTAssertEqual(problems(both, .log).map(\.key), [built.digests[1]])
    }

    func testCheckpointOfAnotherAccountIsForged() async throws {
        let built = try await build(periods: 1)
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path(built.digests[0]))))
        var d = try DigestFile.parse(bytes)
        let cp = try Checkpoint.open(d.checkpoint, keys: [key.publicKey])
        d.checkpoint = try Checkpoint(origin: Checkpoint.origin(keyName: key.name, accountId: 42), size: cp.size, root: cp.root, time: cp.time)
            .signed(with: key)
        try await built.store.put(bucket: bucket, key: built.digests[0], body: try d.signed(with: key).bytes, contentType: "application/json")
        let report = try await verifier(built).verify()
        XCTAssertEqual(problems(report, .forged).map(\.key), [built.digests[0]])
        XCTAssertTrue(problems(report, .forged)[0].message.contains("cloudaudit/accounts/42"), report.problems.description)
    }

    func testTamperedLineFailsTheLogCheck() async throws {
        // The operator changed a record in the database before delivery: the file and the digest agree
        // with each other (and the digest is signed by the real key), but not with the checkpoint.
        let built = try await build(tamper: { seq, record in
            seq == 17 ? Array(String(decoding: record, as: UTF8.self).replacingOccurrences(of: "RunInstances", with: "StopInstances").utf8) : record
        })
        let report = try await verifier(built).verify()
        XCTAssertEqual(report.problems.map(\.kind), [.log], report.problems.map(\.description).joined(separator: "\n"))
        XCTAssertEqual(report.problems[0].key, built.digests[1])
        XCTAssertEqual(report.problems[0].message, "events of this digest's files do not verify against checkpoint size 26")
        XCTAssertTrue(report.logFiles.allSatisfy { $0.status == .valid })
        XCTAssertEqual(report.summary.logChecksFailed, 1)
        XCTAssertEqual(report.summary.logChecksVerified, 2)
    }

    func testTreeStartMustContinueThePreviousCheckpoint() async throws {
        let built = try await build()
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path(built.digests[2]))))
        var d = try DigestFile.parse(bytes)
        var other = CompactRange()
        for i in 0..<d.treeStart.size { other.append(RFC6962.leafHash(Array("x\(i)".utf8))) }
        d.treeStart = other
        let prev = try DigestFile.open(try await built.store.get(bucket: bucket, key: built.digests[1])!, keys: [key.publicKey])
        d.previousSignature = prev.signature
        try await built.store.put(bucket: bucket, key: built.digests[2], body: try d.signed(with: key).bytes, contentType: "application/json")
        let report = try await verifier(built).verify()
        XCTAssertEqual(problems(report, .gap).map(\.key), [built.digests[2]])
        XCTAssertTrue(problems(report, .gap)[0].message.contains("TreeStart"))
        XCTAssertEqual(problems(report, .log).map(\.key), [built.digests[2]])
    }

    func testEncryptedFiles() async throws {
        let built = try await build(periods: 2, encrypt: true)
        let plain = try await verifier(built).verify()
        XCTAssertTrue(plain.isValid, plain.problems.map(\.description).joined(separator: "\n"))
        XCTAssertTrue(plain.digests.allSatisfy { $0.logCheck == LogCheck(status: .notChecked, detail: "encrypted; pass --data-dir") })
        XCTAssertTrue(plain.logFiles.allSatisfy { $0.status == .valid && !$0.contentChecked })
        let decrypted = try await verifier(built, decrypt: Self.fakeDecrypt).verify()
        XCTAssertTrue(decrypted.isValid, decrypted.problems.map(\.description).joined(separator: "\n"))
        XCTAssertTrue(decrypted.digests.allSatisfy { $0.logCheck?.status == .verified })
        let failing = try await verifier(built, decrypt: { _ in throw IntegrityError("no such key") }).verify()
        XCTAssertEqual(Set(problems(failing, .unreadable).map(\.key)), Set(built.files.flatMap { $0 }))
    }

    func testTimeRange() async throws {
        let built = try await build(periods: 5)
        // Period 3 only (its digest ends at t0 + 4h); the next digest is included for files near the end.
        try FileManager.default.removeItem(atPath: path(built.files[0][0]))
        let report = try await verifier(built, now: t0 + 5 * interval + 60, start: t0 + 3 * interval + 1, end: t0 + 4 * interval).verify()
        XCTAssertTrue(report.isValid, report.problems.map(\.description).joined(separator: "\n"))
        XCTAssertEqual(report.digests.map(\.key), [built.digests[3], built.digests[4]])
        let all = try await verifier(built, now: t0 + 5 * interval + 60).verify()
        XCTAssertEqual(problems(all, .missing).map(\.key), [built.files[0][0]])
    }

    func testSkippedSubtreesMatchLeafAppends() throws {
        // CompactRange.append(subtree:) must give the same range as appending the leaves one by one.
        let leaves = (0..<70).map { RFC6962.leafHash([UInt8($0)]) }
        for start in 0..<40 {
            for end in start...min(start + 30, 70) {
                var byLeaf = CompactRange(), bySubtree = CompactRange()
                for i in 0..<start {
                    byLeaf.append(leaves[i])
                    bySubtree.append(leaves[i])
                }
                for i in start..<end { byLeaf.append(leaves[i]) }
                for node in MerkleNode.decompose(UInt64(start)..<UInt64(end)) {
                    var sub = CompactRange()
                    for i in node.begin..<node.end { sub.append(leaves[Int(i)]) }
                    try bySubtree.append(subtree: node, hash: sub.root())
                }
                XCTAssertEqual(byLeaf, bySubtree, "\(start)..<\(end)")
            }
        }
    }

    func testKeyParsing() {
        let f = BucketKeys.logFile("logs/2025112104/100_CloudAudit_ap_guang_zhou_20251121T040100Z_7_12.json.gz.enc")
        XCTAssertEqual(f, BucketKeys.LogFileKey(key: "logs/2025112104/100_CloudAudit_ap_guang_zhou_20251121T040100Z_7_12.json.gz.enc",
                                                accountId: 100, region: "ap_guang_zhou", time: 1_763_697_660, trackId: 7, firstSequence: 12,
                                                compressed: true, encrypted: true))
        XCTAssertNil(BucketKeys.logFile("logs/2025112104/100_CloudAudit_local_20251121T040100Z_7.json"))
        XCTAssertNil(BucketKeys.logFile("logs/x/100_CloudAudit_local_20250230T040100Z_7_1.json"))
        let d = BucketKeys.digest(DigestFile.key(prefix: "logs", accountId: 5, trackId: 9, endTime: 1_763_700_000))
        XCTAssertEqual(d?.accountId, 5)
        XCTAssertEqual(d?.trackId, 9)
        XCTAssertEqual(d?.time, 1_763_700_000)
    }
}
