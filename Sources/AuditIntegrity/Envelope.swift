import Crypto
import Foundation

/// Envelope encryption of delivered files (docs/integrity.md, "Envelope encryption").
///
/// Each call to ``seal(_:keyId:masterKey:)`` draws a fresh 32-byte data key that encrypts the file
/// with AES-256-GCM; the managed (KMS) key named by `keyId` wraps the data key, also with AES-256-GCM
/// and the key id as associated data. The layout, all integers big-endian:
///
/// | bytes | field |
/// | --- | --- |
/// | 5 | magic `CAENC` |
/// | 1 | version `0x01` |
/// | 2 | key id length `n` |
/// | n | key id (UTF-8) |
/// | 2 | wrapped key length `w` (60) |
/// | w | wrapped data key `nonce(12) ‖ ciphertext(32) ‖ tag(16)`, associated data = key id |
/// | 12 | nonce of the body |
/// | rest | body ciphertext ‖ 16-byte tag, associated data = every header byte before it |
///
/// Every header byte is authenticated: the key id by the wrapped key, the rest by the body's tag, so
/// no byte of an envelope can change without ``open(_:masterKey:)`` failing.
public enum Envelope {
    public static let magic: [UInt8] = Array("CAENC".utf8)
    public static let version: UInt8 = 1
    /// `nonce(12) ‖ data key(32) ‖ tag(16)`.
    public static let wrappedKeyLength = 60
    public static let nonceLength = 12
    public static let tagLength = 16
    /// The longest key id a header may carry (its length field is 16 bits).
    public static let maxKeyIdLength = Int(UInt16.max)

    /// What the header of an envelope says, readable without any key.
    public struct Header: Sendable, Equatable {
        public var version: UInt8
        /// The managed key that wraps the data key.
        public var keyId: String
        public var wrappedKey: [UInt8]
        public var nonce: [UInt8]
        /// The number of header bytes (magic through nonce): the associated data of the body.
        public var length: Int
    }

    /// True when `data` starts with the envelope magic (it may still be malformed: see ``header(_:)``).
    public static func isEnvelope(_ data: [UInt8]) -> Bool {
        data.count >= magic.count && data.prefix(magic.count).elementsEqual(magic)
    }

    /// Encrypts `plaintext` under a fresh data key wrapped by `masterKey` (the managed key's material).
    ///
    /// - Throws: ``EnvelopeError/invalidMasterKey`` unless `masterKey` is 32 bytes,
    ///   ``EnvelopeError/invalidKeyId(_:)`` for an empty or over-long key id.
    public static func seal(_ plaintext: [UInt8], keyId: String, masterKey: [UInt8]) throws -> [UInt8] {
        let master = try symmetricKey(masterKey)
        let id = Array(keyId.utf8)
        guard !id.isEmpty, id.count <= maxKeyIdLength else { throw EnvelopeError.invalidKeyId(keyId) }

        let dataKey = SymmetricKey(size: .bits256)
        let dataKeyBytes = dataKey.withUnsafeBytes { Array($0) }
        guard let wrapped = try AES.GCM.seal(dataKeyBytes, using: master, authenticating: id).combined, wrapped.count == wrappedKeyLength else {
            throw EnvelopeError.malformed("the data key could not be wrapped")
        }
        let nonce = AES.GCM.Nonce()

        var out: [UInt8] = []
        out.reserveCapacity(magic.count + 5 + id.count + wrappedKeyLength + nonceLength + plaintext.count + tagLength)
        out += magic
        out.append(version)
        appendLength(id.count, to: &out)
        out += id
        appendLength(wrappedKeyLength, to: &out)
        out += wrapped
        out += Array(nonce)
        let box = try AES.GCM.seal(plaintext, using: dataKey, nonce: nonce, authenticating: out)
        out += box.ciphertext
        out += box.tag
        return out
    }

    /// Reads the header of an envelope (the key id to look up, among others) without any key.
    ///
    /// - Throws: ``EnvelopeError/notEncrypted`` when `data` does not start with the magic,
    ///   ``EnvelopeError/unsupportedVersion(_:)``, ``EnvelopeError/malformed(_:)`` when it is truncated
    ///   or a length field is wrong. A header that parses is not yet authentic: only ``open(_:masterKey:)``
    ///   proves that.
    public static func header(_ data: [UInt8]) throws -> Header {
        guard isEnvelope(data) else { throw EnvelopeError.notEncrypted }
        var at = magic.count
        guard at < data.count else { throw EnvelopeError.malformed("it ends after the magic bytes") }
        let v = data[at]
        at += 1
        guard v == version else { throw EnvelopeError.unsupportedVersion(v) }
        let idLength = try readLength(data, &at, field: "key id length")
        guard idLength > 0 else { throw EnvelopeError.malformed("its key id is empty") }
        guard data.count - at >= idLength else { throw EnvelopeError.malformed("it ends inside the key id") }
        guard let keyId = String(bytes: data[at..<(at + idLength)], encoding: .utf8) else {
            throw EnvelopeError.malformed("its key id is not UTF-8")
        }
        at += idLength
        let w = try readLength(data, &at, field: "wrapped key length")
        guard w == wrappedKeyLength else { throw EnvelopeError.malformed("its wrapped key length is \(w), not \(wrappedKeyLength)") }
        guard data.count - at >= w + nonceLength else { throw EnvelopeError.malformed("it ends inside the wrapped key or nonce") }
        let wrapped = Array(data[at..<(at + w)])
        at += w
        let nonce = Array(data[at..<(at + nonceLength)])
        at += nonceLength
        guard data.count - at >= tagLength else { throw EnvelopeError.malformed("it is shorter than its authentication tag (truncated?)") }
        return Header(version: v, keyId: keyId, wrappedKey: wrapped, nonce: nonce, length: at)
    }

    /// Decrypts an envelope with the material of the managed key its header names.
    ///
    /// - Throws: the errors of ``header(_:)``; ``EnvelopeError/wrongKey(keyId:)`` when the data key
    ///   does not unwrap (another key's material, or an altered key id or wrapped key);
    ///   ``EnvelopeError/corrupted(keyId:)`` when the body fails authentication (an altered header or
    ///   body, or a truncated file). Nothing of the plaintext is returned unless all of it is authentic.
    public static func open(_ data: [UInt8], masterKey: [UInt8]) throws -> [UInt8] {
        let master = try symmetricKey(masterKey)
        let h = try header(data)
        let dataKey: [UInt8]
        do {
            let box = try AES.GCM.SealedBox(combined: h.wrappedKey)
            dataKey = Array(try AES.GCM.open(box, using: master, authenticating: Array(h.keyId.utf8)))
        } catch {
            throw EnvelopeError.wrongKey(keyId: h.keyId)
        }
        guard dataKey.count == 32 else { throw EnvelopeError.malformed("its data key is \(dataKey.count) bytes, not 32") }
        do {
            let body = data[h.length...]
            let box = try AES.GCM.SealedBox(nonce: try AES.GCM.Nonce(data: h.nonce), ciphertext: body.dropLast(tagLength),
                                            tag: body.suffix(tagLength))
            return Array(try AES.GCM.open(box, using: SymmetricKey(data: dataKey), authenticating: data[..<h.length]))
        } catch {
            throw EnvelopeError.corrupted(keyId: h.keyId)
        }
    }

    static func symmetricKey(_ bytes: [UInt8]) throws -> SymmetricKey {
        guard bytes.count == 32 else { throw EnvelopeError.invalidMasterKey }
        return SymmetricKey(data: bytes)
    }

    static func appendLength(_ n: Int, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: n >> 8))
        out.append(UInt8(truncatingIfNeeded: n))
    }

    static func readLength(_ data: [UInt8], _ at: inout Int, field: String) throws -> Int {
        guard data.count - at >= 2 else { throw EnvelopeError.malformed("it ends inside the \(field)") }
        let n = Int(data[at]) << 8 | Int(data[at + 1])
        at += 2
        return n
    }
}

/// Why an envelope could not be made or opened. The messages name the key id, never key material.
public enum EnvelopeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The data does not start with `CAENC`: it is not an encrypted file (a plain or gzip one?).
    case notEncrypted
    case unsupportedVersion(UInt8)
    /// The header is truncated or inconsistent.
    case malformed(String)
    /// The managed key's material does not unwrap the data key.
    case wrongKey(keyId: String)
    /// The data key unwrapped but the contents fail authentication.
    case corrupted(keyId: String)
    /// Key material must be 32 bytes (AES-256).
    case invalidMasterKey
    case invalidKeyId(String)

    public var description: String {
        switch self {
        case .notEncrypted:
            return "the data is not an encrypted file (it does not start with CAENC); it can be read as it is"
        case .unsupportedVersion(let v):
            return "the encrypted file has format version \(v), which this cloudaudit does not know; use a newer version"
        case .malformed(let why):
            return "the encrypted file is malformed: \(why)"
        case .wrongKey(let id):
            return "the data key of the file does not unwrap with KMS key \(id): the key's material differs (another deployment or master key?) or the file's header was altered"
        case .corrupted(let id):
            return "the encrypted file (KMS key \(id)) fails authentication: it was altered or truncated"
        case .invalidMasterKey:
            return "the key material must be 32 bytes (AES-256)"
        case .invalidKeyId(let id):
            return "the key id must be 1-\(Envelope.maxKeyIdLength) bytes of UTF-8 (got \(id.utf8.count) bytes)"
        }
    }
}
