import AuditModel
import Crypto
import Foundation

/// The deployment's Ed25519 signing key. Its text form follows the C2SP signed-note signer key:
/// `PRIVATE+KEY+<name>+<key hash hex>+<base64(0x01 || 32-byte seed)>`.
public struct SigningKey: Sendable {
    public let name: String
    /// The 32-byte seed (CryptoKit's key type is not Sendable; it is rebuilt per use, which is cheap).
    let seed: [UInt8]
    public let publicKey: PublicSigningKey

    public init(name: String, seed: [UInt8]) throws {
        try PublicSigningKey.checkName(name)
        guard seed.count == 32 else { throw IntegrityError("an Ed25519 private key is 32 bytes") }
        self.name = name
        self.seed = seed
        self.publicKey = PublicSigningKey(name: name, raw: Array(try Curve25519.Signing.PrivateKey(rawRepresentation: seed).publicKey.rawRepresentation))
    }

    var key: Curve25519.Signing.PrivateKey { try! Curve25519.Signing.PrivateKey(rawRepresentation: seed) }

    public static func generate(name: String) throws -> SigningKey {
        try SigningKey(name: name, seed: Array(Curve25519.Signing.PrivateKey().rawRepresentation))
    }

    public init(text: String) throws {
        // base64 may itself hold '+': only the first four separate fields.
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "+", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY", let blob = Data(base64Encoded: String(parts[4])),
              blob.count == 33, blob.first == 0x01 else {
            throw IntegrityError("the signing key file is not a PRIVATE+KEY+<name>+<hash>+<key> Ed25519 key")
        }
        try self.init(name: String(parts[2]), seed: Array(blob.dropFirst()))
        guard publicKey.keyHash.hexString == parts[3] else { throw IntegrityError("the signing key's hash does not match its name and key") }
    }

    /// The private key as text (for a 0600 file only).
    public var text: String {
        "PRIVATE+KEY+\(name)+\(publicKey.keyHash.hexString)+\(Data([0x01] + seed).base64EncodedString())"
    }

    public func sign(_ message: [UInt8]) throws -> [UInt8] { Array(try key.signature(for: message)) }
}

/// A public key that auditors pin. Text form (C2SP verifier key): `<name>+<key hash hex>+<base64(0x01 || key)>`.
public struct PublicSigningKey: Sendable, Equatable, Hashable {
    public let name: String
    /// The 32-byte Ed25519 public key.
    public let raw: [UInt8]

    public init(name: String, raw: [UInt8]) {
        self.name = name
        self.raw = raw
    }

    public init(verifierKey text: String) throws {
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let blob = Data(base64Encoded: String(parts[2])), blob.count == 33, blob.first == 0x01 else {
            throw IntegrityError("\"\(text.prefix(80))\" is not a public key of the form <name>+<hash>+<base64 key>")
        }
        try Self.checkName(String(parts[0]))
        self.init(name: String(parts[0]), raw: Array(blob.dropFirst()))
        guard keyHash.hexString == parts[1] else { throw IntegrityError("the public key's hash \(parts[1]) does not match its name and key") }
    }

    static func checkName(_ name: String) throws {
        guard !name.isEmpty, !name.contains("+"), !name.contains(where: { $0.isWhitespace }) else {
            throw IntegrityError("a key name must be non-empty, without spaces or '+'")
        }
    }

    /// The first 4 bytes of SHA-256(name || "\n" || 0x01 || key): names the key in a note's signature line.
    public var keyHash: [UInt8] {
        Array(SHA256.hash(data: Array(name.utf8) + [0x0A, 0x01] + raw).prefix(4))
    }

    public var verifierKey: String { "\(name)+\(keyHash.hexString)+\(Data([0x01] + raw).base64EncodedString())" }

    /// `SHA256:<hex>` of the raw key: what a person compares when pinning.
    public var fingerprint: String { "SHA256:" + SHA256.hash(data: raw).hexString }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}

/// A C2SP signed note: a text body (ending in a newline), a blank line, then one line per signature:
/// `— <key name> <base64(4-byte key hash || Ed25519 signature)>`.
public enum SignedNote {
    static let dash = "\u{2014} "

    public static func sign(body: String, with key: SigningKey) throws -> String {
        guard body.hasSuffix("\n"), !body.contains("\n\n") else { throw IntegrityError("a note body must end with one newline and have no blank line") }
        let sig = try key.sign(Array(body.utf8))
        return body + "\n" + dash + key.name + " " + Data(key.publicKey.keyHash + sig).base64EncodedString() + "\n"
    }

    /// The body, if one of `keys` signed it. Throws `NoteError`.
    public static func open(_ note: String, keys: [PublicSigningKey]) throws -> (body: String, signer: PublicSigningKey) {
        guard let split = note.range(of: "\n\n", options: .backwards) else { throw NoteError.malformed("no blank line before the signatures") }
        let body = String(note[..<split.lowerBound]) + "\n"
        let lines = note[split.upperBound...].split(separator: "\n", omittingEmptySubsequences: true)
        guard !lines.isEmpty, note.hasSuffix("\n") else { throw NoteError.malformed("no signature line") }
        // Every line must be a signature line, before any is verified (as golang.org/x/mod/sumdb/note does).
        let signatures = try lines.map { line -> (name: String, hash: [UInt8], sig: [UInt8]) in
            guard line.hasPrefix(dash) else { throw NoteError.malformed("a signature line does not start with \"\(dash)\"") }
            let fields = line.dropFirst(dash.count).split(separator: " ")
            guard fields.count == 2, let blob = Data(base64Encoded: String(fields[1])), blob.count == 68 else {
                throw NoteError.malformed("a signature line is not \"— <name> <base64 signature>\"")
            }
            return (String(fields[0]), Array(blob.prefix(4)), Array(blob.dropFirst(4)))
        }
        var names: [String] = []
        for (name, hash, sig) in signatures {
            names.append(name)
            for key in keys where key.name == name && key.keyHash == hash {
                guard key.isValidSignature(sig, for: Array(body.utf8)) else { throw NoteError.badSignature(key: key.verifierKey) }
                return (body, key)
            }
        }
        throw NoteError.unknownKey(names: names)
    }
}

public enum NoteError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    /// None of the signatures is by a key the verifier trusts.
    case unknownKey(names: [String])
    /// A trusted key's signature does not match the text: the note was altered or forged.
    case badSignature(key: String)

    public var description: String {
        switch self {
        case .malformed(let why): return "malformed signed note: \(why)"
        case .unknownKey(let names): return "signed by \(names.joined(separator: ", ")) with a key that is not among the trusted public keys"
        case .badSignature: return "the signature does not match the text (altered or forged)"
        }
    }
}

/// A signed statement of one account's log: the C2SP checkpoint body (origin, tree size, base64 root)
/// and one extension line with the Unix time it was made.
public struct Checkpoint: Sendable, Equatable {
    public var origin: String
    public var size: UInt64
    public var root: MerkleHash
    public var time: Int64

    public init(origin: String, size: UInt64, root: MerkleHash, time: Int64) {
        self.origin = origin
        self.size = size
        self.root = root
        self.time = time
    }

    /// The origin of an account's log on a deployment whose key is named `keyName`.
    public static func origin(keyName: String, accountId: Int64) -> String { "\(keyName)/accounts/\(accountId)" }

    public var body: String { "\(origin)\n\(size)\n\(Data(root).base64EncodedString())\ntimestamp \(time)\n" }

    public func signed(with key: SigningKey) throws -> String { try SignedNote.sign(body: body, with: key) }

    /// Parses a signed checkpoint, checking its signature against `keys`.
    public static func open(_ note: String, keys: [PublicSigningKey]) throws -> Checkpoint {
        let (body, _) = try SignedNote.open(note, keys: keys)
        return try parse(body: body)
    }

    public static func parse(body: String) throws -> Checkpoint {
        // Canonical only: one text per checkpoint (no "+5" or "05" numbers, no empty origin, no partial line,
        // no base64 root with non-zero padding bits, which Foundation's decoder accepts).
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard body.hasSuffix("\n"), lines.count == 4, !lines[0].isEmpty, let size = UInt64(lines[1]), String(size) == lines[1],
              let root = Data(base64Encoded: String(lines[2])), root.count == 32, root.base64EncodedString() == lines[2],
              lines[3].hasPrefix("timestamp "),
              let time = Int64(lines[3].dropFirst("timestamp ".count)), "timestamp \(time)" == lines[3] else {
            throw NoteError.malformed("a checkpoint is four lines: origin, tree size, base64 root, timestamp")
        }
        return Checkpoint(origin: String(lines[0]), size: size, root: Array(root), time: time)
    }
}
