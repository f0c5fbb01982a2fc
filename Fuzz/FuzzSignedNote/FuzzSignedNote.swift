// libFuzzer target: the integrity files an auditor's verifier reads from a bucket, where anyone with
// write access to the bucket could have put anything:
//  - `SignedNote.open` and `Checkpoint.parse(body:)` / `Checkpoint.open` (signed checkpoints);
//  - `DigestFile.parse` / `DigestFile.open` (digest files);
//  - `Envelope.header` / `Envelope.open` (encrypted delivery files);
//  - `PublicSigningKey(verifierKey:)`, `SigningKey(text:)` and `CompactRange(serialized:)`.
// Every input goes through all of them. Besides "no trap": a checkpoint that parses is canonical (its
// body is exactly the text parsed), and a verifier key that parses names itself again.
// Built and run by scripts/fuzz; seeds in Fuzz/Corpus/FuzzSignedNote (signed with the key below).
import AuditIntegrity
import AuditModel
import Foundation
import FuzzHarness

/// The key the seed notes, checkpoints and digests were signed with (see Fuzz/README.md).
let signingKey = try! SigningKey(name: "fuzz.cloudaudit.example", seed: (0..<32).map { UInt8($0) })
let otherKey = try! SigningKey(name: "other.cloudaudit.example", seed: (0..<32).map { UInt8(255 - $0) })
let keys = [otherKey.publicKey, signingKey.publicKey]
/// The KMS key material the seed envelopes were sealed with.
let masterKey: [UInt8] = (0..<32).map { UInt8($0 &* 3) }

func fuzzSignedNote(_ input: UnsafeRawBufferPointer) {
    let bytes = Array(input)
    let text = String(decoding: bytes, as: UTF8.self)

    if let (body, signer) = try? SignedNote.open(text, keys: keys) {
        precondition(keys.contains(signer) && body.hasSuffix("\n"))
    }
    if let c = try? Checkpoint.parse(body: text) {
        precondition(c.body == text, "a checkpoint parses from a text that is not its canonical body")
    }
    _ = try? Checkpoint.open(text, keys: keys)

    if let d = try? DigestFile.parse(bytes) {
        _ = try? Checkpoint.open(d.checkpoint, keys: keys)
        _ = try? PublicSigningKey(verifierKey: d.signingKey)
    }
    _ = try? DigestFile.open(bytes, keys: keys)

    if let h = try? Envelope.header(bytes) {
        precondition(h.length <= bytes.count && !h.keyId.isEmpty && h.nonce.count == Envelope.nonceLength)
    }
    _ = try? Envelope.open(bytes, masterKey: masterKey)

    if let k = try? PublicSigningKey(verifierKey: text) {
        precondition(k.raw.count == 32)
        precondition((try? PublicSigningKey(verifierKey: k.verifierKey)) == k, "a verifier key's own text does not parse back")
        _ = k.isValidSignature(Array(bytes.prefix(64)), for: bytes)
    }
    _ = try? SigningKey(text: text)
    _ = try? CompactRange(serialized: bytes)
}

/// Seeds: a signed checkpoint (by the trusted key, by another, by both), its body, a note by an
/// unknown key, a signed digest file that quotes the checkpoint, envelopes, and the key texts.
func seedInputs() -> [(String, [UInt8])] {
    var out: [(String, [UInt8])] = []
    var tree = CompactRange()
    for i in 0..<7 { tree.append(RFC6962.leafHash([UInt8(i)])) }
    let checkpoint = Checkpoint(origin: Checkpoint.origin(keyName: signingKey.name, accountId: 100_000_000_001), size: tree.size,
                                root: tree.root(), time: 1_750_000_000)
    let signed = try! checkpoint.signed(with: signingKey)
    out.append(("checkpoint-signed", Array(signed.utf8)))
    out.append(("checkpoint-body", Array(checkpoint.body.utf8)))
    let byOther = try! checkpoint.signed(with: otherKey)
    out.append(("checkpoint-other-key", Array(byOther.utf8)))
    out.append(("checkpoint-two-signatures", Array((byOther + signed.dropFirst(checkpoint.body.count + 1)).utf8)))
    let unknown = try! SigningKey(name: "unknown.example", seed: Array(repeating: 7, count: 32))
    out.append(("note-unknown-key", Array(try! SignedNote.sign(body: "a note\nof two lines\n", with: unknown).utf8)))
    out.append(("checkpoint-empty-tree", Array(try! Checkpoint(origin: "fuzz.cloudaudit.example/accounts/1", size: 0, root: RFC6962.emptyRoot,
                                                               time: 0).signed(with: signingKey).utf8)))

    var start = CompactRange()
    for i in 0..<3 { start.append(RFC6962.leafHash([UInt8(i)])) }
    let digest = DigestFile(accountId: 100_000_000_001, trackId: 7, startTime: 1_749_996_400, endTime: 1_750_000_000,
                            previousKey: "cloudaudit/CloudAudit-Digest/2025061502/100000000001_CloudAudit-Digest_7_20250615T020000Z.json",
                            previousSignature: "c2lnbmF0dXJl", treeStart: start, checkpoint: signed,
                            files: [.init(key: "cloudaudit/100000000001_CloudAudit_ap-guangzhou_20250615T0300Z_a1.json.gz",
                                          sha256: Array(repeating: 0xAB, count: 32), objectSHA256: Array(repeating: 0xCD, count: 32), events: 3,
                                          firstEventTime: 1_749_996_500, lastEventTime: 1_749_999_000, sequences: [4...5, 7...7])],
                            skipped: [.init(from: 6, to: 6, subtrees: [RFC6962.leafHash([5])])], signingKey: signingKey.publicKey.verifierKey)
    out.append(("digest-signed", try! digest.signed(with: signingKey).bytes))
    var first = digest
    first.previousKey = nil
    first.previousSignature = nil
    first.treeStart = CompactRange()
    first.files = []
    first.skipped = []
    out.append(("digest-first-empty", try! first.signed(with: signingKey).bytes))

    out.append(("envelope", try! Envelope.seal(Array(#"{"eventName":"DeleteBucket"}\n"#.utf8), keyId: "kms-fuzz-1", masterKey: masterKey)))
    out.append(("envelope-empty", try! Envelope.seal([], keyId: "k", masterKey: masterKey)))
    out.append(("verifier-key", Array(signingKey.publicKey.verifierKey.utf8)))
    out.append(("signing-key", Array(signingKey.text.utf8)))
    out.append(("compact-range", tree.serialized))
    return out
}

@main enum Main: FuzzTarget {
    static func fuzz(_ input: UnsafeRawBufferPointer) { fuzzSignedNote(input) }
    static func seeds() -> [(String, [UInt8])] { seedInputs() }
}
