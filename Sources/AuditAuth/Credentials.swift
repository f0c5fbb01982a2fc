import Crypto
import Foundation

/// Access-key generation and the sealing of secrets at rest.
///
/// TC3 needs the plain SecretKey to verify a signature, so it cannot be stored as a one-way hash.
/// It is sealed with AES-256-GCM under the deployment's master key instead: a stolen database file
/// alone reveals no usable secret. The SecretId is bound as associated data so that a sealed secret
/// cannot be moved to another key's row.
public struct SecretSealer: Sendable {
    private let key: SymmetricKey

    public init(masterKey: [UInt8]) throws {
        guard masterKey.count == 32 else { throw CredentialError.badMasterKey }
        self.key = SymmetricKey(data: masterKey)
    }

    public func seal(_ secret: String, secretId: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(Array(secret.utf8), using: key, authenticating: Array(secretId.utf8))
        guard let combined = box.combined else { throw CredentialError.sealFailed }
        return Array(combined)
    }

    public func open(_ sealed: [UInt8], secretId: String) throws -> String {
        let box = try AES.GCM.SealedBox(combined: sealed)
        let plain = try AES.GCM.open(box, using: key, authenticating: Array(secretId.utf8))
        return String(decoding: plain, as: UTF8.self)
    }

    /// A key derived from the master key for one purpose (e.g. signing page cursors).
    public func derivedKey(purpose: String) -> SymmetricKey {
        SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(purpose.utf8), using: key))
    }
}

public enum CredentialError: Error, CustomStringConvertible {
    case badMasterKey
    case sealFailed

    public var description: String {
        switch self {
        case .badMasterKey: return "the master key must be 32 bytes (64 hex characters or 44 base64 characters)"
        case .sealFailed: return "could not seal the secret"
        }
    }
}

public enum CredentialGenerator {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    static func random(_ count: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet[Int(rng.next(upperBound: UInt(alphabet.count)))] })
    }

    /// A SecretId in the familiar `AKID` + 32 characters shape.
    public static func secretId() -> String { "AKID" + random(32) }
    public static func secretKey() -> String { random(32) }

    public static func masterKey() -> [UInt8] { randomBytes(32) }

    /// `count` bytes from the system's secure generator.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    /// An unguessable token of 43 letters and digits (256 bits), safe in cookies and headers.
    public static func token() -> String { random(43) }

    /// Parses a master key given as 64 hex characters or as base64 of 32 bytes.
    public static func parseMasterKey(_ text: String) throws -> [UInt8] {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.count == 64, t.allSatisfy({ $0.isHexDigit }) {
            var out = [UInt8]()
            var i = t.startIndex
            while i < t.endIndex {
                let j = t.index(i, offsetBy: 2)
                out.append(UInt8(t[i..<j], radix: 16)!)
                i = j
            }
            return out
        }
        if let d = Data(base64Encoded: t), d.count == 32 { return Array(d) }
        throw CredentialError.badMasterKey
    }
}
