import AuditModel
import Crypto
import Foundation
import XCTest
@testable import AuditIntegrity

/// C2SP signed notes and checkpoints (https://c2sp.org/signed-note, https://c2sp.org/tlog-checkpoint).
final class SignedNoteTests: XCTestCase {
    // The reference example of golang.org/x/mod/sumdb/note, copied from github.com/golang/mod
    // sumdb/note/note_test.go (commit 02c991387e35f9e4c0a9b7ce137717055f8d716d): TestNewVerifier,
    // TestNewSigner, TestSign, TestOpen.
    static let goVerifierKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    static let goSignerKey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    static let goText = "If you think cryptography is the answer to your problem,\n" + "then you don't know what your problem is.\n"
    static let goPeterSig = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    static let goEnochKey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
    static let goEnochSig = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
    static var goNote: String { goText + "\n" + goPeterSig }

    static func key(_ name: String, _ seedByte: UInt8) throws -> SigningKey {
        try SigningKey(name: name, seed: (0..<32).map { UInt8(truncatingIfNeeded: Int($0) * 7 + Int(seedByte)) })
    }

    static func expectedKeyHash(name: String, raw: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: Array((name + "\n").utf8) + [0x01] + raw).prefix(4))
    }

    // MARK: published vector

    func testGoReferenceNoteOpensWithItsPublicKey() throws {
        let peter = try PublicSigningKey(verifierKey: Self.goVerifierKey)
        XCTAssertEqual(peter.name, "PeterNeumann")
        XCTAssertEqual(peter.keyHash.hexString, "c74f20a3")
        XCTAssertEqual(peter.raw.count, 32)
        XCTAssertEqual(peter.verifierKey, Self.goVerifierKey)
        let (body, signer) = try SignedNote.open(Self.goNote, keys: [peter])
        XCTAssertEqual(body, Self.goText)
        XCTAssertEqual(signer, peter)
    }

    func testGoReferenceSignerKeyParsesAndSignsTheSameNote() throws {
        // The base64 of this key contains a '+': the text form must split on the first four '+' only.
        let key = try SigningKey(text: Self.goSignerKey)
        XCTAssertEqual(key.name, "PeterNeumann")
        XCTAssertEqual(key.publicKey.verifierKey, Self.goVerifierKey)
        XCTAssertEqual(key.text, Self.goSignerKey)
        let note = try SignedNote.sign(body: Self.goText, with: key)
        XCTAssertEqual(try SignedNote.open(note, keys: [try PublicSigningKey(verifierKey: Self.goVerifierKey)]).body, Self.goText)
        #if os(Linux)
        // Ed25519 (RFC 8032) is deterministic; BoringSSL, which swift-crypto uses off Apple platforms,
        // signs deterministically, so the note is byte for byte Go's. (CryptoKit randomizes signatures.)
        XCTAssertEqual(note, Self.goNote)
        #endif
    }

    func testGoReferenceTwoSignatures() throws {
        let peter = try PublicSigningKey(verifierKey: Self.goVerifierKey)
        let enoch = try PublicSigningKey(verifierKey: Self.goEnochKey)
        XCTAssertEqual(enoch.keyHash.hexString, "af0cfe78")
        let note = Self.goText + "\n" + Self.goPeterSig + Self.goEnochSig
        XCTAssertEqual(try SignedNote.open(note, keys: [peter]).signer, peter)
        XCTAssertEqual(try SignedNote.open(note, keys: [enoch]).signer, enoch)
        XCTAssertEqual(try SignedNote.open(note, keys: [enoch, peter]).body, Self.goText)
        XCTAssertThrowsError(try SignedNote.open(note, keys: []), NoteError.unknownKey(names: ["PeterNeumann", "EnochRoot"]))
        // Wrong hash or wrong name for an otherwise right key: not the signer.
        let renamed = PublicSigningKey(name: "PeterNeuman", raw: peter.raw)
        XCTAssertThrowsError(try SignedNote.open(Self.goNote, keys: [renamed]), NoteError.unknownKey(names: ["PeterNeumann"]))
    }

    /// golang.org/x/mod's TestOpen "Invalid encoded message syntax" list, plus its mangled signature.
    func testGoReferenceMalformedNotes() throws {
        let peter = try PublicSigningKey(verifierKey: Self.goVerifierKey)
        let text = Self.goText, sig = Self.goPeterSig
        let bad = [
            text,
            text + "\n",
            text + "\n" + String(sig.dropLast()),
            text + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
            text + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            text + "\n" + sig + "Unexpected line.\n",
            // "Invalid signature": 4 base64 characters inserted (Go reports an invalid signature; the length is checked first here).
            text + "\n" + String(sig.prefix(60)) + "ABCD" + String(sig.dropFirst(60)),
        ]
        for note in bad {
            XCTAssertThrowsError(try SignedNote.open(note, keys: [peter]), note) { error in
                guard case .malformed? = error as? NoteError else { return XCTFail("\(error) for \(note.debugDescription)") }
            }
        }
        // A control character before the text: the signature no longer matches.
        XCTAssertThrowsError(try SignedNote.open("\u{01}" + text + "\n" + sig, keys: [peter]), NoteError.badSignature(key: peter.verifierKey))
    }

    /// golang.org/x/mod's TestNewVerifier / TestNewSigner: every proper substring and every one-byte
    /// increment of the keys is rejected, and the two published bad keys too.
    func testGoReferenceMangledKeysAreRejected() {
        let cases: [(String, (String) throws -> Void)] = [
            (Self.goVerifierKey, { s in _ = try PublicSigningKey(verifierKey: s) }),
            (Self.goSignerKey, { s in _ = try SigningKey(text: s) }),
        ]
        for (text, parse) in cases {
            XCTAssertNoThrow(try parse(text))
            let b = Array(text.utf8)
            for i in 0...b.count {
                for j in (i + 1)..<(b.count + 1) where !(i == 0 && j == b.count) {
                    let s = String(decoding: b[i..<j], as: UTF8.self)
                    XCTAssertThrowsError(try parse(s), "accepted \(s)")
                }
            }
            for i in b.indices {
                var m = b
                m[i] &+= 1
                let s = String(decoding: m, as: UTF8.self)
                XCTAssertThrowsError(try parse(s), "accepted \(s)")
            }
        }
        // Wrong length key, with adjusted key hash; unknown algorithm, with adjusted key hash.
        XCTAssertThrowsError(try PublicSigningKey(verifierKey: "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="))
        XCTAssertThrowsError(try PublicSigningKey(verifierKey: "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"))
    }

    // MARK: keys

    func testKeyHashIsFirstFourBytesOfSHA256OfNameNewline01Key() throws {
        for i in 0..<8 {
            let key = try Self.key("log\(i).example", UInt8(i))
            XCTAssertEqual(key.publicKey.keyHash, Self.expectedKeyHash(name: key.name, raw: key.publicKey.raw))
            XCTAssertEqual(key.publicKey.keyHash.count, 4)
            XCTAssertEqual(key.publicKey.raw, Array(key.key.publicKey.rawRepresentation))
            XCTAssertEqual(key.publicKey.fingerprint, "SHA256:" + Array(SHA256.hash(data: key.publicKey.raw)).hexString)
        }
    }

    /// Text forms round trip for many keys (about half of all base64 keys contain a '+').
    func testKeyTextRoundTrips() throws {
        var withPlus = 0
        for i in 0..<64 {
            var rng = SeededRNG(seed: UInt64(1000 + i))
            let key = try SigningKey(name: "cloudaudit-\(i)", seed: rng.bytes(32))
            let vkey = key.publicKey.verifierKey
            let parts = vkey.split(separator: "+", maxSplits: 2)
            XCTAssertEqual(parts.count, 3)
            XCTAssertEqual(String(parts[0]), key.name)
            XCTAssertEqual(String(parts[1]), key.publicKey.keyHash.hexString)
            XCTAssertEqual(Data(base64Encoded: String(parts[2])).map { Array($0) }, [0x01] + key.publicKey.raw)
            if parts[2].contains("+") { withPlus += 1 }

            XCTAssertEqual(try PublicSigningKey(verifierKey: vkey), key.publicKey, vkey)
            XCTAssertEqual(try PublicSigningKey(verifierKey: " \(vkey)\n"), key.publicKey)
            XCTAssertTrue(key.text.hasPrefix("PRIVATE+KEY+\(key.name)+\(key.publicKey.keyHash.hexString)+"))
            let back = try SigningKey(text: key.text + "\n")
            XCTAssertEqual(back.name, key.name)
            XCTAssertEqual(back.publicKey, key.publicKey, key.text)
            XCTAssertEqual(back.text, key.text)
        }
        XCTAssertGreaterThan(withPlus, 5, "the sample should include keys whose base64 contains '+'")
    }

    func testGeneratedKeysWork() throws {
        let key = try SigningKey.generate(name: "fresh")
        let note = try SignedNote.sign(body: "hello\n", with: key)
        XCTAssertEqual(try SignedNote.open(note, keys: [key.publicKey]).body, "hello\n")
        XCTAssertEqual(try SigningKey(text: key.text).publicKey, key.publicKey)
    }

    func testBadKeysAreRejected() throws {
        XCTAssertThrowsError(try SigningKey(name: "", seed: Array(repeating: 1, count: 32)))
        XCTAssertThrowsError(try SigningKey(name: "a b", seed: Array(repeating: 1, count: 32)))
        XCTAssertThrowsError(try SigningKey(name: "a+b", seed: Array(repeating: 1, count: 32)))
        XCTAssertThrowsError(try SigningKey(name: "ok", seed: Array(repeating: 1, count: 31)))
        let key = try Self.key("ok", 1)
        let vkey = key.publicKey.verifierKey
        let parts = vkey.split(separator: "+", maxSplits: 2).map(String.init)
        XCTAssertThrowsError(try PublicSigningKey(verifierKey: "\(parts[0])+00000000+\(parts[2])"), "wrong key hash")
        XCTAssertThrowsError(try PublicSigningKey(verifierKey: "other+\(parts[1])+\(parts[2])"), "renamed")
        XCTAssertThrowsError(try PublicSigningKey(verifierKey: "\(parts[0])+\(parts[1])"), "no key")
        XCTAssertThrowsError(try PublicSigningKey(verifierKey: "\(parts[0])+\(parts[1])+!!!!"), "not base64")
        let raw2 = Data([0x02] + key.publicKey.raw).base64EncodedString()
        XCTAssertThrowsError(try PublicSigningKey(verifierKey: "\(parts[0])+\(parts[1])+\(raw2)"), "not an Ed25519 key")
        XCTAssertThrowsError(try SigningKey(text: vkey), "a public key is not a signing key")
        XCTAssertThrowsError(try SigningKey(text: key.text.replacingOccurrences(of: "PRIVATE+KEY", with: "PUBLIC+KEY")))
        XCTAssertThrowsError(try SigningKey(text: key.text.replacingOccurrences(of: key.publicKey.keyHash.hexString, with: "00000000")))
    }

    // MARK: notes

    func testSignAndOpen() throws {
        let key = try Self.key("cloudaudit", 3)
        let body = "first line\nsecond line\n"
        let note = try SignedNote.sign(body: body, with: key)
        let (opened, signer) = try SignedNote.open(note, keys: [key.publicKey])
        XCTAssertEqual(opened, body)
        XCTAssertEqual(signer, key.publicKey)
        // Among other trusted keys.
        let other = try Self.key("other", 9)
        XCTAssertEqual(try SignedNote.open(note, keys: [other.publicKey, key.publicKey]).signer, key.publicKey)
    }

    func testNoteFormat() throws {
        let key = try Self.key("cloudaudit", 4)
        let body = "cloudaudit/accounts/7\n3\nAAAA\n"
        let note = try SignedNote.sign(body: body, with: key)
        XCTAssertTrue(note.hasPrefix(body + "\n"))
        XCTAssertTrue(note.hasSuffix("\n"))
        let sigLine = String(note.dropFirst(body.count + 1).dropLast())
        XCTAssertFalse(sigLine.contains("\n"))
        // An em dash (U+2014, UTF-8 e2 80 94), a space, the key name, a space, base64.
        XCTAssertEqual(Array(sigLine.utf8.prefix(4)), [0xE2, 0x80, 0x94, 0x20])
        let fields = sigLine.split(separator: " ")
        XCTAssertEqual(fields.count, 3)
        XCTAssertEqual(fields[0], "\u{2014}")
        XCTAssertEqual(String(fields[1]), "cloudaudit")
        let blob = try XCTUnwrap(Data(base64Encoded: String(fields[2])))
        XCTAssertEqual(blob.count, 4 + 64)
        XCTAssertEqual(Array(blob.prefix(4)), Self.expectedKeyHash(name: "cloudaudit", raw: key.publicKey.raw))
        let pub = try Curve25519.Signing.PublicKey(rawRepresentation: key.publicKey.raw)
        XCTAssertTrue(pub.isValidSignature(Data(blob.dropFirst(4)), for: Data(body.utf8)), "the signature covers the body with its final newline")
        XCTAssertFalse(pub.isValidSignature(Data(blob.dropFirst(4)), for: Data(body.dropLast().utf8)))
    }

    func testSignRejectsBadBodies() throws {
        let key = try Self.key("cloudaudit", 5)
        XCTAssertThrowsError(try SignedNote.sign(body: "no newline", with: key))
        XCTAssertThrowsError(try SignedNote.sign(body: "a\n\nb\n", with: key))
        XCTAssertThrowsError(try SignedNote.sign(body: "a\n\n", with: key))
    }

    func testAlteredBodiesAreBadSignatures() throws {
        let key = try Self.key("cloudaudit", 6)
        let cp = Checkpoint(origin: "cloudaudit/accounts/100000000001", size: 1234, root: Array(SHA256.hash(data: [1, 2, 3])), time: 1_763_700_000)
        let note = try cp.signed(with: key)
        let bad = NoteError.badSignature(key: key.publicKey.verifierKey)
        let otherRoot = Data(Array(SHA256.hash(data: [9]))).base64EncodedString()
        let altered = [
            note.replacingOccurrences(of: "\n1234\n", with: "\n1235\n"),
            note.replacingOccurrences(of: "\n1234\n", with: "\n123\n"),
            note.replacingOccurrences(of: Data(cp.root).base64EncodedString(), with: otherRoot),
            note.replacingOccurrences(of: "accounts/100000000001", with: "accounts/100000000002"),
            note.replacingOccurrences(of: "timestamp 1763700000", with: "timestamp 1763700001"),
            "x" + note,
            note.replacingOccurrences(of: "\n1234\n", with: "\n1234 \n"),
        ]
        for a in altered {
            XCTAssertNotEqual(a, note)
            XCTAssertThrowsError(try SignedNote.open(a, keys: [key.publicKey]), bad, a)
            XCTAssertThrowsError(try Checkpoint.open(a, keys: [key.publicKey]), bad, a)
        }
        // Every single-character change of the body.
        let body = cp.body
        for i in 0..<body.utf8.count where Array(body.utf8)[i] != 0x0A {
            var b = Array(body.utf8)
            b[i] = b[i] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            let a = String(decoding: b, as: UTF8.self) + String(note.dropFirst(body.count))
            XCTAssertThrowsError(try SignedNote.open(a, keys: [key.publicKey]), bad, "byte \(i)")
        }
    }

    func testSignedByAnotherKeyIsUnknownKey() throws {
        let trusted = try Self.key("cloudaudit", 7)
        let other = try Self.key("intruder", 8)
        let sameName = try Self.key("cloudaudit", 99)
        XCTAssertNotEqual(sameName.publicKey.keyHash, trusted.publicKey.keyHash)
        let note = try SignedNote.sign(body: "hello\n", with: other)
        XCTAssertThrowsError(try SignedNote.open(note, keys: [trusted.publicKey]), NoteError.unknownKey(names: ["intruder"]))
        XCTAssertThrowsError(try SignedNote.open(note, keys: []), NoteError.unknownKey(names: ["intruder"]))
        let note2 = try SignedNote.sign(body: "hello\n", with: sameName)
        XCTAssertThrowsError(try SignedNote.open(note2, keys: [trusted.publicKey]), NoteError.unknownKey(names: ["cloudaudit"]))
        // A trusted key's name and hash on another key's signature: forged.
        let sig = Array(Data(base64Encoded: String(note.split(separator: " ").last!.dropLast()))!)
        let reHashed = "hello\n\n\u{2014} cloudaudit " + Data(trusted.publicKey.keyHash + sig.dropFirst(4)).base64EncodedString() + "\n"
        XCTAssertThrowsError(try SignedNote.open(reHashed, keys: [trusted.publicKey]), NoteError.badSignature(key: trusted.publicKey.verifierKey))
    }

    func testMalformedNotes() throws {
        let key = try Self.key("cloudaudit", 10)
        let note = try SignedNote.sign(body: "a\nb\n", with: key)
        let sigB64 = String(note.split(separator: " ").last!.dropLast())
        let malformed = [
            "",
            "a\nb\n",                                                         // no signatures at all
            note.replacingOccurrences(of: "\n\n", with: "\n"),                 // no blank line
            "a\nb\n\n",                                                       // blank line, nothing after it
            String(note.dropLast()),                                          // no final newline
            note.replacingOccurrences(of: sigB64, with: "!!notbase64!!"),     // bad base64
            note.replacingOccurrences(of: sigB64, with: String(sigB64.dropLast(4))),  // short signature
            note.replacingOccurrences(of: sigB64, with: Data(repeating: 1, count: 72).base64EncodedString()),  // long signature
            note.replacingOccurrences(of: "\u{2014} ", with: "- "),           // not an em dash
            note.replacingOccurrences(of: "\u{2014} ", with: "\u{2014}"),     // no space after the dash
            note.replacingOccurrences(of: " cloudaudit ", with: " cloud audit "),  // three fields
            note.replacingOccurrences(of: " cloudaudit ", with: " "),         // one field
            note + "trailing line\n",                                         // a line that is not a signature
        ]
        for m in malformed {
            XCTAssertThrowsError(try SignedNote.open(m, keys: [key.publicKey]), m.debugDescription) { error in
                guard case .malformed? = error as? NoteError else { return XCTFail("\(error) for \(m.debugDescription)") }
            }
        }
    }

    // MARK: checkpoints

    func testCheckpointRoundTripAndBody() throws {
        let key = try Self.key("cloudaudit", 11)
        let root = Array(SHA256.hash(data: Array("root".utf8)))
        let cp = Checkpoint(origin: Checkpoint.origin(keyName: key.name, accountId: 100_000_000_001), size: 1234, root: root, time: 1_763_700_000)
        XCTAssertEqual(cp.origin, "cloudaudit/accounts/100000000001")
        XCTAssertEqual(cp.body, "cloudaudit/accounts/100000000001\n1234\n\(Data(root).base64EncodedString())\ntimestamp 1763700000\n")
        let note = try cp.signed(with: key)
        XCTAssertTrue(note.hasPrefix(cp.body + "\n\u{2014} cloudaudit "))
        XCTAssertEqual(try Checkpoint.open(note, keys: [key.publicKey]), cp)
        XCTAssertEqual(try Checkpoint.parse(body: cp.body), cp)
        // The empty log and extreme values.
        for c in [Checkpoint(origin: "o", size: 0, root: RFC6962.emptyRoot, time: 0),
                  Checkpoint(origin: "o", size: UInt64.max, root: root, time: Int64.max),
                  Checkpoint(origin: "o", size: 1, root: root, time: -5)] {
            XCTAssertEqual(try Checkpoint.open(try c.signed(with: key), keys: [key.publicKey]), c)
        }
        // Signed by someone else.
        let other = try Self.key("cloudaudit", 12)
        XCTAssertThrowsError(try Checkpoint.open(note, keys: [other.publicKey]), NoteError.unknownKey(names: ["cloudaudit"]))
    }

    func testCheckpointParseRejectsBadBodies() {
        let root = Data(Array(SHA256.hash(data: [7]))).base64EncodedString()
        let short = Data(Array(SHA256.hash(data: [7])).dropLast()).base64EncodedString()
        let long = Data(Array(SHA256.hash(data: [7])) + [0]).base64EncodedString()
        XCTAssertNoThrow(try Checkpoint.parse(body: "o\n5\n\(root)\ntimestamp 9\n"))
        let bad = [
            "",
            "\n",
            "o\n5\n\(root)\n",                                 // three lines
            "o\n5\n\(root)\ntimestamp 9\nextension\n",         // five lines
            "o\n5\n\(root)\ntimestamp 9",                      // no final newline: only three complete lines
            "o\nfive\n\(root)\ntimestamp 9\n",
            "o\n-5\n\(root)\ntimestamp 9\n",
            "o\n\n\(root)\ntimestamp 9\n",
            "o\n5 \n\(root)\ntimestamp 9\n",
            "o\n18446744073709551616\n\(root)\ntimestamp 9\n",  // 2^64
            "o\n5\nnot base64!\ntimestamp 9\n",
            "o\n5\n\(short)\ntimestamp 9\n",
            "o\n5\n\(long)\ntimestamp 9\n",
            "o\n5\n\(root)\ntime 9\n",
            "o\n5\n\(root)\ntimestamp\n",
            "o\n5\n\(root)\ntimestamp \n",
            "o\n5\n\(root)\ntimestamp nine\n",
            "o\n5\n\(root)\n9\n",
            "o\n\(root)\n5\ntimestamp 9\n",                   // lines swapped
        ]
        for b in bad {
            XCTAssertThrowsError(try Checkpoint.parse(body: b), b.debugDescription) { error in
                guard case .malformed? = error as? NoteError else { return XCTFail("\(error) for \(b.debugDescription)") }
            }
        }
    }

    /// A validly signed note whose body is not a checkpoint is rejected by `Checkpoint.open`.
    func testCheckpointOpenRejectsSignedNonCheckpoints() throws {
        let key = try Self.key("cloudaudit", 13)
        let note = try SignedNote.sign(body: "just\nsome text\n", with: key)
        XCTAssertNoThrow(try SignedNote.open(note, keys: [key.publicKey]))
        XCTAssertThrowsError(try Checkpoint.open(note, keys: [key.publicKey])) { error in
            guard case .malformed? = error as? NoteError else { return XCTFail("\(error)") }
        }
    }

    func testCheckpointTextIsCanonical() throws {
        let root = Data(repeating: 7, count: 32).base64EncodedString()
        XCTAssertNoThrow(try Checkpoint.parse(body: "o\n5\n\(root)\ntimestamp 9\n"))
        for bad in ["o\n+5\n\(root)\ntimestamp 9\n", "o\n05\n\(root)\ntimestamp 9\n", "\n5\n\(root)\ntimestamp 9\n",
                    "o\n5\n\(root)\ntimestamp +9\n", "o\n5\n\(root)\ntimestamp 09\n", "o\n5\n\(root)\ntimestamp 9"] {
            XCTAssertThrowsError(try Checkpoint.parse(body: bad), bad.debugDescription)
        }
    }

    /// Found by FuzzSignedNote (Fuzz/Corpus/FuzzSignedNote/regression-checkpoint-root-padding-bits): a root
    /// whose last base64 digit has non-zero padding bits decodes to the same 32 bytes as the canonical
    /// text, so one checkpoint had several texts.
    func testCheckpointRootWithNonZeroPaddingBitsIsRejected() throws {
        let canonical = "NWAZGAMChESyMgGKwEf9tWHAnCOnpodsheCLXk1I6fM="
        let root = try XCTUnwrap(Data(base64Encoded: canonical))
        XCTAssertEqual(root.base64EncodedString(), canonical)
        let body = "fuzz.cloudaudit.example/accounts/100000000001\n7\n\(canonical)\ntimestamp 1750000000\n"
        XCTAssertEqual(try Checkpoint.parse(body: body).body, body)
        for variant in ["NWAZGAMChESyMgGKwEf9tWHAnCOnpodsheCLXk1I6fN=", "NWAZGAMChESyMgGKwEf9tWHAnCOnpodsheCLXk1I6Mf="] {
            let bad = body.replacingOccurrences(of: canonical, with: variant)
            XCTAssertThrowsError(try Checkpoint.parse(body: bad), variant) { error in
                XCTAssertEqual(error as? NoteError, .malformed("a checkpoint is four lines: origin, tree size, base64 root, timestamp"))
            }
        }
    }
}
