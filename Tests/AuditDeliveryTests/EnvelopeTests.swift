import AuditDelivery
import AuditIntegrity
import AuditModel
import AuditObjectStorage
import AuditStore
import Crypto
import Foundation
import XCTest

/// The envelope format of docs/integrity.md ("Envelope encryption") and the managed keys behind it.
final class EnvelopeTests: XCTestCase {
    let keyId = "4f1c2a9e-5b7d-4e3a-9c8f-0a1b2c3d4e5f"

    func randomKey() -> [UInt8] { (0..<32).map { _ in UInt8.random(in: 0...255) } }

    func lines(_ n: Int) -> [UInt8] {
        Array((0..<n).map { #"{"eventId":"ev-\#($0)","eventName":"RunInstances","secretMarker":"PLAINTEXT-MARKER-\#($0)"}"# + "\n" }.joined().utf8)
    }

    // MARK: Envelope

    func testRoundTripOfVariousSizes() throws {
        let master = randomKey()
        for input in [[], [0x41], lines(1), lines(500), Gzip.compress(lines(300))] {
            let sealed = try Envelope.seal(input, keyId: keyId, masterKey: master)
            XCTAssertTrue(Envelope.isEnvelope(sealed))
            XCTAssertEqual(try Envelope.open(sealed, masterKey: master), input)
        }
    }

    func testLayoutIsTheDocumentedOne() throws {
        let master = randomKey()
        let plain = lines(3)
        let sealed = try Envelope.seal(plain, keyId: keyId, masterKey: master)
        let id = Array(keyId.utf8)
        XCTAssertEqual(Array(sealed[0..<5]), Array("CAENC".utf8))
        XCTAssertEqual(sealed[5], 1, "version")
        XCTAssertEqual(Int(sealed[6]) << 8 | Int(sealed[7]), id.count, "key id length, big-endian")
        XCTAssertEqual(Array(sealed[8..<(8 + id.count)]), id)
        var at = 8 + id.count
        XCTAssertEqual(Int(sealed[at]) << 8 | Int(sealed[at + 1]), 60, "wrapped key length")
        at += 2
        let wrapped = Array(sealed[at..<(at + 60)])
        at += 60
        let nonce = Array(sealed[at..<(at + 12)])
        at += 12
        XCTAssertEqual(sealed.count, at + plain.count + 16, "ciphertext is as long as the plaintext, plus the tag")

        // An independent reading with the primitives: unwrap (AD = key id), then the body (AD = header).
        let dataKey = try AES.GCM.open(try AES.GCM.SealedBox(combined: wrapped), using: SymmetricKey(data: master), authenticating: id)
        XCTAssertEqual(dataKey.count, 32)
        let body = try AES.GCM.SealedBox(nonce: try AES.GCM.Nonce(data: nonce), ciphertext: sealed[at..<(sealed.count - 16)],
                                         tag: sealed[(sealed.count - 16)...])
        XCTAssertEqual(Array(try AES.GCM.open(body, using: SymmetricKey(data: dataKey), authenticating: sealed[..<at])), plain)

        let h = try Envelope.header(sealed)
        XCTAssertEqual(h.keyId, keyId)
        XCTAssertEqual(h.version, 1)
        XCTAssertEqual(h.wrappedKey, wrapped)
        XCTAssertEqual(h.nonce, nonce)
        XCTAssertEqual(h.length, at)
    }

    func testEachSealIsFresh() throws {
        let master = randomKey()
        let plain = lines(10)
        let a = try Envelope.seal(plain, keyId: keyId, masterKey: master)
        let b = try Envelope.seal(plain, keyId: keyId, masterKey: master)
        XCTAssertNotEqual(a, b)
        let ha = try Envelope.header(a), hb = try Envelope.header(b)
        XCTAssertNotEqual(ha.wrappedKey, hb.wrappedKey, "a fresh data key (and wrapping nonce) per file")
        XCTAssertNotEqual(ha.nonce, hb.nonce)
    }

    func testCiphertextHoldsNoPlaintext() throws {
        let plain = lines(200)
        let sealed = try Envelope.seal(plain, keyId: keyId, masterKey: randomKey())
        let text = String(decoding: sealed, as: UTF8.self)
        for needle in ["PLAINTEXT-MARKER", "RunInstances", "eventId", "ev-1"] {
            XCTAssertFalse(text.contains(needle), "the envelope shows \(needle)")
        }
        // No 8-byte window of the plaintext appears anywhere in the envelope.
        let windows = Set(stride(from: 0, to: plain.count - 8, by: 1).map { plain[$0..<($0 + 8)] })
        for i in 0..<(sealed.count - 8) { XCTAssertFalse(windows.contains(sealed[i..<(i + 8)]), "plaintext bytes at \(i)") }
    }

    func testEveryHeaderByteAndBodyByteIsAuthenticated() throws {
        let master = randomKey()
        let plain = lines(4)
        let sealed = try Envelope.seal(plain, keyId: keyId, masterKey: master)
        let headerLength = try Envelope.header(sealed).length
        for i in 0..<sealed.count {
            var t = sealed
            t[i] ^= 0x01
            XCTAssertThrowsError(try Envelope.open(t, masterKey: master), "flipping byte \(i) (header is \(headerLength) bytes) went unnoticed") { e in
                XCTAssertTrue(e is EnvelopeError, "byte \(i): \(e)")
            }
        }
        // The kind of error: body bytes and the nonce are "corrupted", the key id and wrapped key "wrongKey".
        var body = sealed
        body[sealed.count - 20] ^= 0x80
        XCTAssertThrowsError(try Envelope.open(body, masterKey: master)) { XCTAssertEqual($0 as? EnvelopeError, .corrupted(keyId: keyId)) }
        var nonce = sealed
        nonce[headerLength - 1] ^= 0x80
        XCTAssertThrowsError(try Envelope.open(nonce, masterKey: master)) { XCTAssertEqual($0 as? EnvelopeError, .corrupted(keyId: keyId)) }
        var wrapped = sealed
        wrapped[headerLength - 13] ^= 0x80
        XCTAssertThrowsError(try Envelope.open(wrapped, masterKey: master)) { XCTAssertEqual($0 as? EnvelopeError, .wrongKey(keyId: keyId)) }
    }

    func testTruncationAndMalformedHeaders() throws {
        let master = randomKey()
        let sealed = try Envelope.seal(lines(2), keyId: keyId, masterKey: master)
        for n in [0, 3, 5, 6, 7, 20, 50, 100, sealed.count - 17, sealed.count - 1] {
            XCTAssertThrowsError(try Envelope.open(Array(sealed.prefix(n)), masterKey: master), "truncated to \(n)")
        }
        XCTAssertThrowsError(try Envelope.header(Array("CAENC".utf8) + [2, 0, 1, 0x41])) {
            XCTAssertEqual($0 as? EnvelopeError, .unsupportedVersion(2))
        }
        XCTAssertThrowsError(try Envelope.header(Array("CAENC".utf8) + [1, 0, 0, 0, 60])) {
            guard case .malformed? = $0 as? EnvelopeError else { return XCTFail("\($0)") }
        }
        var badLength = sealed
        badLength[8 + keyId.utf8.count + 1] = 59
        XCTAssertThrowsError(try Envelope.header(badLength)) {
            guard case .malformed(let why)? = $0 as? EnvelopeError else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("59"), why)
        }
    }

    func testNotAnEnvelope() throws {
        for data in [[], Gzip.compress(lines(2)), lines(2), Array("CAEN".utf8)] {
            XCTAssertFalse(Envelope.isEnvelope(data))
            XCTAssertThrowsError(try Envelope.header(data)) { XCTAssertEqual($0 as? EnvelopeError, .notEncrypted) }
            XCTAssertThrowsError(try Envelope.open(data, masterKey: randomKey())) { XCTAssertEqual($0 as? EnvelopeError, .notEncrypted) }
        }
        XCTAssertTrue(EnvelopeError.notEncrypted.description.contains("not an encrypted file"))
    }

    func testWrongKeyFails() throws {
        let sealed = try Envelope.seal(lines(3), keyId: keyId, masterKey: randomKey())
        XCTAssertThrowsError(try Envelope.open(sealed, masterKey: randomKey())) { e in
            XCTAssertEqual(e as? EnvelopeError, .wrongKey(keyId: keyId))
            XCTAssertTrue("\(e)".contains(keyId), "\(e)")
        }
        XCTAssertThrowsError(try Envelope.open(sealed, masterKey: Array(repeating: 0, count: 16))) {
            XCTAssertEqual($0 as? EnvelopeError, .invalidMasterKey)
        }
        XCTAssertThrowsError(try Envelope.seal([1], keyId: "", masterKey: randomKey())) {
            guard case .invalidKeyId? = $0 as? EnvelopeError else { return XCTFail("\($0)") }
        }
    }

    func testHeaderReadsTheKeyIdWithoutAKey() throws {
        for id in [keyId, "k", "alias/with/slashes", String(repeating: "x", count: 300), "ключ-鍵"] {
            let sealed = try Envelope.seal([1, 2, 3], keyId: id, masterKey: randomKey())
            XCTAssertEqual(try Envelope.header(sealed).keyId, id)
        }
    }

    // MARK: KeyVault

    func vault(_ master: [UInt8]? = nil) async throws -> (KeyVault, MemoryEventStore, [UInt8]) {
        let store = MemoryEventStore()
        _ = try await store.createAccount(name: "a", retentionDays: nil, id: AccountIds.first)
        _ = try await store.createAccount(name: "b", retentionDays: nil, id: AccountIds.first + 1)
        let m = master ?? randomKey()
        return (KeyVault(keys: store, masterKey: m), store, m)
    }

    func testVaultCreatesSealedKeysAndRoundTrips() async throws {
        let (vault, store, master) = try await vault()
        let key = try await vault.createKey(accountId: AccountIds.first, region: "local", alias: "audit/main")
        XCTAssertTrue(KmsKeyRules.isKeyId(key.keyId), key.keyId)
        XCTAssertEqual(key.status, .enabled)
        XCTAssertEqual(key.sealedKey.count, 60, "nonce, 32 bytes of material, tag")
        let stored = try await store.kmsKey(id: key.keyId)
        XCTAssertEqual(stored, key)

        let plain = lines(50)
        let sealed = try await vault.encrypt(plain, keyId: key.keyId, accountId: AccountIds.first)
        XCTAssertEqual(try Envelope.header(sealed).keyId, key.keyId)
        let opened = try await vault.decrypt(sealed)
        XCTAssertEqual(opened, plain)
        let ownOpened = try await vault.decrypt(sealed, accountId: AccountIds.first)
        XCTAssertEqual(ownOpened, plain)

        // The same deployment master key opens it from another vault (e.g. the CLI's); another does not.
        let again = try await KeyVault(keys: store, masterKey: master).decrypt(sealed)
        XCTAssertEqual(again, plain)
        do {
            _ = try await KeyVault(keys: store, masterKey: randomKey()).decrypt(sealed)
            XCTFail("another deployment master key unsealed the key")
        } catch let e as KmsError {
            XCTAssertEqual(e.code, "KmsKeyUnsealFailed")
        }
        // The sealed material is bound to its key id: moved to another row, it does not unseal.
        let other = try await vault.createKey(accountId: AccountIds.first, region: "local", alias: "other")
        var moved = other
        moved.keyId = "00000000-0000-4000-8000-000000000001"
        moved.alias = "moved"
        moved.sealedKey = key.sealedKey
        try await store.createKmsKey(moved)
        do {
            _ = try await vault.encrypt(plain, keyId: moved.keyId, accountId: AccountIds.first)
            XCTFail("a sealed key moved to another id was used")
        } catch let e as KmsError {
            XCTAssertEqual(e.code, "KmsKeyUnsealFailed")
        }
    }

    func testVaultRefusesDisabledUnknownAndForeignKeys() async throws {
        let (vault, store, _) = try await vault()
        let key = try await vault.createKey(accountId: AccountIds.first, region: "local", alias: "k1")
        let plain = lines(5)
        let sealed = try await vault.encrypt(plain, keyId: key.keyId, accountId: AccountIds.first)

        // Another account's key
        do {
            _ = try await vault.encrypt(plain, keyId: key.keyId, accountId: AccountIds.first + 1)
            XCTFail("encrypted with another account's key")
        } catch let e as KmsError {
            XCTAssertEqual(e, .otherAccount(key.keyId, accountId: AccountIds.first + 1))
        }
        do {
            _ = try await vault.decrypt(sealed, accountId: AccountIds.first + 1)
            XCTFail("decrypted with another account's key")
        } catch let e as KmsError {
            XCTAssertEqual(e.code, "KmsKeyOfAnotherAccount")
        }
        // Unknown key
        do {
            _ = try await vault.encrypt(plain, keyId: "no-such-key", accountId: AccountIds.first)
            XCTFail("encrypted with an unknown key")
        } catch let e as KmsError {
            XCTAssertEqual(e, .notFound("no-such-key"))
        }
        let foreign = try Envelope.seal(plain, keyId: "9a9a9a9a-0000-4000-8000-000000000000", masterKey: randomKey())
        do {
            _ = try await vault.decrypt(foreign)
            XCTFail("decrypted with an unknown key")
        } catch let e as KmsError {
            XCTAssertEqual(e.code, "KmsKeyNotFound")
        }
        // Disabled key: refuses both ways, cleanly, until enabled again
        _ = try await store.setKmsKeyStatus(id: key.keyId, status: .disabled)
        do {
            _ = try await vault.encrypt(plain, keyId: key.keyId, accountId: AccountIds.first)
            XCTFail("encrypted with a disabled key")
        } catch let e as KmsError {
            XCTAssertEqual(e, .disabled(key.keyId))
            XCTAssertTrue(e.description.contains("KMS key \(key.keyId) is disabled"), e.description)
        }
        do {
            _ = try await vault.decrypt(sealed)
            XCTFail("decrypted with a disabled key")
        } catch let e as KmsError {
            XCTAssertEqual(e.code, "KmsKeyDisabled")
        }
        _ = try await store.setKmsKeyStatus(id: key.keyId, status: .enabled)
        let opened = try await vault.decrypt(sealed)
        XCTAssertEqual(opened, plain)
        // Not an envelope at all
        do {
            _ = try await vault.decrypt(Gzip.compress(plain))
            XCTFail("decrypted a plain gzip file")
        } catch let e as EnvelopeError {
            XCTAssertEqual(e, .notEncrypted)
        }
    }

    func testVaultAliasRulesAndUniqueness() async throws {
        let (vault, _, _) = try await vault()
        for bad in ["", String(repeating: "a", count: 61), "KMS-mine", "has space", "dot.ted", "ключ"] {
            do {
                _ = try await vault.createKey(accountId: AccountIds.first, region: "local", alias: bad)
                XCTFail("alias \"\(bad)\" accepted")
            } catch let e as KmsError {
                XCTAssertEqual(e.code, "KmsInvalidAlias")
            }
        }
        for good in ["a", String(repeating: "a", count: 60), "team/audit-logs_2", "kms-lowercase-is-fine"] {
            _ = try await vault.createKey(accountId: AccountIds.first, region: "local", alias: good)
        }
        do {
            _ = try await vault.createKey(accountId: AccountIds.first, region: "local", alias: "a")
            XCTFail("duplicate alias accepted")
        } catch let e as StoreError {
            XCTAssertEqual(e.code, .kmsAliasExists)
        }
        _ = try await vault.createKey(accountId: AccountIds.first + 1, region: "local", alias: "a")
        _ = try await vault.createKey(accountId: AccountIds.first, region: "ap-guangzhou", alias: "a")
        do {
            _ = try await vault.createKey(accountId: 42, region: "local", alias: "x")
            XCTFail("a key of a missing account")
        } catch let e as StoreError {
            XCTAssertEqual(e, .accountNotFound(42))
        }
    }
}
