import AuditModel
import Crypto
import Foundation
import XCTest
@testable import AuditIntegrity

final class DigestFileTests: XCTestCase {
    static let keyA = try! SignedNoteTests.key("cloudaudit", 21)
    static let keyB = try! SignedNoteTests.key("cloudaudit", 22)

    static func sha(_ s: String) -> [UInt8] { Array(SHA256.hash(data: Array(s.utf8))) }

    /// A digest over sequences 14...40 of account 100000000001: two files, two skipped ranges.
    static func sample(signedBy key: SigningKey = keyA, previous: Bool = true) throws -> DigestFile {
        let ref = ReferenceTree(leaves: (0..<40).map { ReferenceTree.leafHash(Array("event \($0)".utf8)) })
        let start = compactRange(ref.leaves[0..<13])
        let checkpoint = try Checkpoint(origin: Checkpoint.origin(keyName: key.name, accountId: 100_000_000_001), size: 40, root: ref.root(40),
                                        time: 1_763_700_000).signed(with: key)
        let files = [
            DigestFile.LogFile(key: "prefix/CloudAudit/ap-guangzhou/2025112104/100000000001_CloudAudit_ap-guangzhou_20251121T0440Z_a1b2.json.gz",
                               sha256: sha("file 1"), objectSHA256: sha("object 1"), events: 12, firstEventTime: 1_763_699_000,
                               lastEventTime: 1_763_699_500, sequences: [14...20, 23...27]),
            DigestFile.LogFile(key: "prefix/CloudAudit/ap-guangzhou/2025112104/100000000001_CloudAudit_ap-guangzhou_20251121T0440Z_c3d4.json.gz.enc",
                               sha256: sha("file 2"), objectSHA256: sha("object 2"), events: 10, firstEventTime: 1_763_699_600,
                               lastEventTime: 1_763_699_990, sequences: [31...40]),
        ]
        func skipped(_ from: Int64, _ to: Int64) -> DigestFile.Skipped {
            DigestFile.Skipped(from: from, to: to, subtrees: MerkleNode.decompose(UInt64(from - 1)..<UInt64(to)).map { ref.mth(Int($0.begin), Int($0.end)) })
        }
        return DigestFile(accountId: 100_000_000_001, trackId: 7, startTime: 1_763_696_400, endTime: 1_763_700_000,
                          previousKey: previous ? "prefix/CloudAudit-Digest/2025112103/100000000001_CloudAudit-Digest_7_20251121T034000Z.json" : nil,
                          previousSignature: previous ? "c2lnbmF0dXJlIG9mIHRoZSBwcmV2aW91cyBkaWdlc3Q=" : nil,
                          treeStart: start, checkpoint: checkpoint, files: files, skipped: [skipped(21, 22), skipped(28, 30)],
                          signingKey: key.publicKey.verifierKey)
    }

    /// `bytes` with its signature replaced by the one of `original` (same content checks, other bytes).
    static func withSignature(of original: [UInt8], _ bytes: [UInt8]) -> [UInt8] {
        let marker = DigestFile.signatureMarker
        let a = DigestFile.lastIndex(of: marker, in: original)!, b = DigestFile.lastIndex(of: marker, in: bytes)!
        return Array(bytes[..<b]) + Array(original[a...])
    }

    func testSignedOpenRoundTrip() throws {
        for previous in [true, false] {
            let digest = try Self.sample(previous: previous)
            let (bytes, signature) = try digest.signed(with: Self.keyA)
            let (opened, sig) = try DigestFile.open(bytes, keys: [Self.keyA.publicKey])
            XCTAssertEqual(opened, digest)
            XCTAssertEqual(sig, signature)
            XCTAssertEqual(try DigestFile.parse(bytes), digest)
            // Trusted among several keys (rotation).
            XCTAssertEqual(try DigestFile.open(bytes, keys: [Self.keyB.publicKey, Self.keyA.publicKey]).digest, digest)
        }
        // An empty period: no files, nothing skipped, empty start.
        var empty = try Self.sample(previous: false)
        empty.files = []
        empty.skipped = []
        empty.treeStart = CompactRange()
        let (bytes, _) = try empty.signed(with: Self.keyA)
        XCTAssertEqual(try DigestFile.open(bytes, keys: [Self.keyA.publicKey]).digest, empty)
    }

    func testSignedLayout() throws {
        let digest = try Self.sample()
        let (bytes, signature) = try digest.signed(with: Self.keyA)
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix(#"{"DigestVersion":1,"AccountId":100000000001,"TrackId":7,"#), text)
        XCTAssertTrue(text.hasSuffix(#","Signature":""# + signature + "\"}\n"), text)
        let fields = try XCTUnwrap(JSONParser.parse(bytes).objectValue).fields.map(\.key)
        XCTAssertEqual(fields, ["DigestVersion", "AccountId", "TrackId", "DigestStartTime", "DigestEndTime", "PreviousDigestKey",
                                "PreviousDigestSignature", "TreeStart", "Checkpoint", "LogFiles", "Skipped", "SigningKey", "Signature"])
        // The signature is Ed25519 over every byte before `,"Signature":"`.
        let at = try XCTUnwrap(DigestFile.lastIndex(of: Array(#","Signature":""#.utf8), in: bytes))
        let pub = try Curve25519.Signing.PublicKey(rawRepresentation: Self.keyA.publicKey.raw)
        XCTAssertTrue(pub.isValidSignature(try XCTUnwrap(Data(base64Encoded: signature)), for: Data(bytes[..<at])))
        XCTAssertEqual(Data(base64Encoded: signature)?.count, 64)
        // Hashes are lowercase hex; runs are [first, last].
        XCTAssertTrue(text.contains(#""SHA256":""# + Self.sha("file 1").hexString + "\""))
        XCTAssertTrue(text.contains(#""Sequences":[[14,20],[23,27]]"#), text)
        XCTAssertTrue(text.contains(#""TreeStart":{"Size":13,"Hashes":["#), text)
        XCTAssertEqual(DigestFile.key(prefix: "p", accountId: 1, trackId: 2, endTime: 1_763_700_000),
                       "p/CloudAudit-Digest/2025112104/1_CloudAudit-Digest_2_20251121T044000Z.json")
    }

    /// Any change of any byte before the signature breaks it: when the changed file still parses
    /// (with the same SigningKey) the error is badSignature, otherwise the file is malformed.
    func testEveryByteOfTheSignedPartIsCovered() throws {
        let (bytes, _) = try Self.sample().signed(with: Self.keyA)
        let at = DigestFile.lastIndex(of: DigestFile.signatureMarker, in: bytes)!
        /// Another byte of the same kind, so that most changes keep the JSON valid.
        func change(_ b: UInt8) -> UInt8 {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "8"): return b + 1
            case UInt8(ascii: "9"): return UInt8(ascii: "8")
            case UInt8(ascii: "a")...UInt8(ascii: "e"), UInt8(ascii: "A")...UInt8(ascii: "Y"), UInt8(ascii: "g")...UInt8(ascii: "y"): return b + 1
            case UInt8(ascii: "f"): return UInt8(ascii: "a")
            case UInt8(ascii: "z"): return UInt8(ascii: "g")
            case UInt8(ascii: "Z"): return UInt8(ascii: "A")
            default: return b ^ 0x01
            }
        }
        var outcomes: [String: Int] = [:]
        let original = try DigestFile.parse(bytes)
        for i in 0..<at {
            for replacement in [change(bytes[i]), bytes[i] ^ 0x20] {
                var m = bytes
                m[i] = replacement
                let parsed = try? DigestFile.parse(m)
                do {
                    _ = try DigestFile.open(m, keys: [Self.keyA.publicKey])
                    XCTFail("byte \(i) changed to \(replacement) still opens")
                } catch let e as DigestError {
                    if let p = parsed, p.signingKey == original.signingKey {
                        XCTAssertEqual(e, .badSignature, "byte \(i)")
                        outcomes["badSignature", default: 0] += 1
                    } else {
                        outcomes["\(e)".hasPrefix("malformed") ? "malformed" : "\(e)", default: 0] += 1
                    }
                } catch {
                    XCTFail("byte \(i): \(error)")
                }
            }
        }
        XCTAssertGreaterThan(outcomes["badSignature", default: 0], at, "\(outcomes)")
    }

    /// Each field changed, the rest of the file and the old signature kept: badSignature.
    func testAlteredContentKeepsNoSignature() throws {
        let digest = try Self.sample()
        let (bytes, _) = try digest.signed(with: Self.keyA)
        var changes: [(String, (inout DigestFile) throws -> Void)] = [
            ("account", { $0.accountId += 1 }),
            ("track", { $0.trackId = 8 }),
            ("start", { $0.startTime -= 1 }),
            ("end", { $0.endTime += 3600 }),
            ("previous key", { $0.previousKey = "elsewhere" }),
            ("previous signature", { $0.previousSignature = nil }),
            ("tree start", { $0.treeStart = compactRange(ReferenceTree(leaves: (0..<13).map { ReferenceTree.leafHash([UInt8($0)]) }).leaves[0...]) }),
            ("checkpoint", { $0.checkpoint = try Checkpoint(origin: "x", size: 1, root: RFC6962.emptyRoot, time: 0).signed(with: Self.keyA) }),
            ("file sha", { $0.files[0].sha256[0] ^= 1 }),
            ("object sha", { $0.files[1].objectSHA256[31] ^= 0x80 }),
            ("file key", { $0.files[0].key += "x" }),
            ("events", { $0.files[0].events -= 1 }),
            ("file dropped", { $0.files.removeLast() }),
            ("files swapped", { $0.files.swapAt(0, 1) }),
            ("sequences", { $0.files[0].sequences = [14...27] }),
            ("skipped subtree", { $0.skipped[1].subtrees[0][5] ^= 4 }),
            ("skipped dropped", { $0.skipped.removeFirst() }),
            ("skipped range", { $0.skipped[0].to += 1 }),
        ]
        changes.append(("times", { $0.files[1].lastEventTime += 1 }))
        for (what, change) in changes {
            var d = digest
            try change(&d)
            XCTAssertNotEqual(d, digest, what)
            let forged = Self.withSignature(of: bytes, try d.signed(with: Self.keyA).bytes)
            XCTAssertEqual(try DigestFile.parse(forged), d, what)
            XCTAssertThrowsError(try DigestFile.open(forged, keys: [Self.keyA.publicKey]), DigestError.badSignature, what)
        }
    }

    func testResignedByAnotherKey() throws {
        var digest = try Self.sample()
        digest.accountId = 999
        // Signed by B while still naming A as its signer: badSignature.
        let (forged, _) = try digest.signed(with: Self.keyB)
        XCTAssertThrowsError(try DigestFile.open(forged, keys: [Self.keyA.publicKey]), DigestError.badSignature)
        // Naming B as its signer: B is not trusted.
        digest.signingKey = Self.keyB.publicKey.verifierKey
        let (byB, _) = try digest.signed(with: Self.keyB)
        XCTAssertThrowsError(try DigestFile.open(byB, keys: [Self.keyA.publicKey]), DigestError.untrustedKey(Self.keyB.publicKey.verifierKey))
        XCTAssertThrowsError(try DigestFile.open(byB, keys: []), DigestError.untrustedKey(Self.keyB.publicKey.verifierKey))
        // Once B is trusted it opens.
        XCTAssertEqual(try DigestFile.open(byB, keys: [Self.keyA.publicKey, Self.keyB.publicKey]).digest, digest)
        // Same name and hash prefix do not make a key trusted: the whole key must match.
        let impostor = PublicSigningKey(name: Self.keyB.name, raw: Self.keyA.publicKey.raw)
        XCTAssertThrowsError(try DigestFile.open(byB, keys: [impostor]), DigestError.untrustedKey(Self.keyB.publicKey.verifierKey))
    }

    func testMissingOrBadSignatureIsMalformed() throws {
        let (bytes, signature) = try Self.sample().signed(with: Self.keyA)
        let at = DigestFile.lastIndex(of: DigestFile.signatureMarker, in: bytes)!
        let text = String(decoding: bytes, as: UTF8.self)
        let cases: [(String, [UInt8])] = [
            ("no Signature member", Array(bytes[..<at]) + Array("}\n".utf8)),
            ("Signature not last", Array(text.replacingOccurrences(of: #"{"DigestVersion":1,"#, with: #"{"Signature":"\#(signature)","DigestVersion":1,"#)
                .replacingOccurrences(of: #","Signature":"\#(signature)"}"#, with: "}").utf8)),
            ("Signature not base64", Array(text.replacingOccurrences(of: signature, with: "not base64!").utf8)),
            ("Signature not a string", Array(bytes[..<at]) + Array(#","Signature":5}"#.utf8)),
            ("truncated", Array(bytes.dropLast(3))),
            ("not JSON", Array("hello".utf8)),
            ("empty", []),
            ("SigningKey not a key", Array(text.replacingOccurrences(of: Self.keyA.publicKey.verifierKey, with: "cloudaudit+00000000+AAAA").utf8)),
        ]
        for (what, b) in cases {
            XCTAssertThrowsError(try DigestFile.open(b, keys: [Self.keyA.publicKey]), what) { error in
                guard case .malformed? = error as? DigestError else { return XCTFail("\(what): \(error)") }
            }
        }
    }

    /// Members appended after the signature are outside the signed bytes; since the parser keeps the
    /// last of duplicate keys, they could otherwise override signed fields.
    func testNothingMayFollowTheSignature() throws {
        let (bytes, signature) = try Self.sample().signed(with: Self.keyA)
        let text = String(decoding: bytes, as: UTF8.self)
        let sigEnd = #","Signature":"\#(signature)""#
        for extra in [#","AccountId":999"#, #","SigningKey":"x""#, #","Extra":1"#, #","LogFiles":[]"#] {
            let forged = Array(text.replacingOccurrences(of: sigEnd + "}", with: sigEnd + extra + "}").utf8)
            XCTAssertNotEqual(forged, bytes)
            XCTAssertThrowsError(try DigestFile.open(forged, keys: [Self.keyA.publicKey]), extra) { error in
                guard case .malformed? = error as? DigestError else { return XCTFail("\(extra): \(error)") }
            }
        }
        // Whitespace after the object is fine.
        XCTAssertNoThrow(try DigestFile.open(bytes + Array(" \n\r\n".utf8), keys: [Self.keyA.publicKey]))
        XCTAssertNoThrow(try DigestFile.open(Array(bytes.dropLast()), keys: [Self.keyA.publicKey]))
    }

    func testParseRejectsBadHashesAndRuns() throws {
        let (bytes, _) = try Self.sample().signed(with: Self.keyA)
        let text = String(decoding: bytes, as: UTF8.self)
        let fileSHA = Self.sha("file 1").hexString
        let startHash = try Self.sample().treeStart.hashes[0].hexString
        let skippedHash = try Self.sample().skipped[1].subtrees[0].hexString
        let replacements: [(String, String, String)] = [
            ("short SHA256", fileSHA, String(fileSHA.dropLast())),
            ("odd SHA256", fileSHA, String(fileSHA.dropLast()) + "0a"),
            ("long SHA256", fileSHA, fileSHA + "00"),
            ("non-hex SHA256", fileSHA, "zz" + fileSHA.dropFirst(2)),
            ("SHA256 not a string", "\"\(fileSHA)\"", "5"),
            ("short TreeStart hash", startHash, String(startHash.dropLast(2))),
            ("non-hex TreeStart hash", startHash, "g" + startHash.dropFirst()),
            ("short skipped subtree", skippedHash, String(skippedHash.dropLast(2))),
            ("skipped subtree not a string", "\"\(skippedHash)\"", "null"),
            ("run starting at 0", "[14,20]", "[0,20]"),
            ("negative run", "[14,20]", "[-3,20]"),
            ("reversed run", "[14,20]", "[20,14]"),
            ("run of one number", "[14,20]", "[14]"),
            ("run of three numbers", "[14,20]", "[14,17,20]"),
            ("run of strings", "[14,20]", #"["14","20"]"#),
            ("run not a list", "[14,20]", "14"),
            ("Sequences not a list", "[[14,20],[23,27]]", "5"),
            ("fractional run", "[14,20]", "[14.5,20]"),
            ("version 2", #""DigestVersion":1"#, #""DigestVersion":2"#),
            ("TreeStart size mismatch", #""Size":13"#, #""Size":12"#),
            ("TreeStart size negative", #""Size":13"#, #""Size":-13"#),
            ("AccountId a string", #""AccountId":100000000001"#, #""AccountId":"100000000001""#),
            ("LogFiles not a list", #""LogFiles":["#, #""LogFiles":{"x":["#),
        ]
        for (what, from, to) in replacements {
            XCTAssertTrue(text.contains(from), what)
            let b = Array(text.replacingOccurrences(of: from, with: to).utf8)
            XCTAssertThrowsError(try DigestFile.parse(b), what) { error in
                guard case .malformed? = error as? DigestError else { return XCTFail("\(what): \(error)") }
            }
            XCTAssertThrowsError(try DigestFile.open(b, keys: [Self.keyA.publicKey]), what)
        }
        // Upper-case hex is read too (and written lower-case).
        let upper = Array(text.replacingOccurrences(of: fileSHA, with: fileSHA.uppercased()).utf8)
        XCTAssertEqual(try DigestFile.parse(upper).files[0].sha256, Self.sha("file 1"))
    }
}
