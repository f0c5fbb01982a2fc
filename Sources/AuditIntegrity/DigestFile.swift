import AuditModel
import Foundation

/// A tracking set's signed digest for one account: the files delivered in a period, the account's log
/// at both ends of the period, and a link to the previous digest (see docs/integrity.md).
///
/// The period covers the account's sequences `treeStart.size + 1 ... checkpoint size`: every one of them
/// is either a line of a listed file (`files[].sequences`) or a skipped event whose leaf hashes are
/// given by subtree (`skipped`), so a verifier can rebuild the log's root from the files alone.
///
/// On disk the digest is one JSON object whose last member is `"Signature"`: the Ed25519 signature, by
/// the deployment key, of every byte before `,"Signature":"`. That marker cannot occur earlier: inside
/// a JSON string its quotes would be escaped.
public struct DigestFile: Sendable, Equatable {
    public struct LogFile: Sendable, Equatable {
        public var key: String
        /// SHA-256 of the file's JSON lines (uncompressed, unencrypted).
        public var sha256: [UInt8]
        /// SHA-256 of the object as stored (gzip and/or encrypted): checkable without any key.
        public var objectSHA256: [UInt8]
        public var events: Int
        public var firstEventTime: Int64
        public var lastEventTime: Int64
        /// The account sequences of its lines, as ascending inclusive runs.
        public var sequences: [ClosedRange<Int64>]

        public init(key: String, sha256: [UInt8], objectSHA256: [UInt8], events: Int, firstEventTime: Int64, lastEventTime: Int64,
                    sequences: [ClosedRange<Int64>]) {
            self.key = key
            self.sha256 = sha256
            self.objectSHA256 = objectSHA256
            self.events = events
            self.firstEventTime = firstEventTime
            self.lastEventTime = lastEventTime
            self.sequences = sequences
        }
    }

    /// Events of the period that the set did not deliver (they did not match its filters): their leaf
    /// hashes as the perfect subtrees `MerkleNode.decompose(from - 1 ..< to)`.
    public struct Skipped: Sendable, Equatable {
        public var from: Int64
        public var to: Int64
        public var subtrees: [MerkleHash]

        public init(from: Int64, to: Int64, subtrees: [MerkleHash]) {
            self.from = from
            self.to = to
            self.subtrees = subtrees
        }
    }

    public static let version: Int64 = 1

    public var accountId: Int64
    public var trackId: Int64
    public var startTime: Int64
    public var endTime: Int64
    public var previousKey: String?
    public var previousSignature: String?
    /// The account's log when the period began.
    public var treeStart: CompactRange
    /// The account's signed checkpoint at the period's end.
    public var checkpoint: String
    public var files: [LogFile]
    public var skipped: [Skipped]
    /// The verifier key (`<name>+<hash>+<key>`) that signed the digest.
    public var signingKey: String

    public init(accountId: Int64, trackId: Int64, startTime: Int64, endTime: Int64, previousKey: String?, previousSignature: String?,
                treeStart: CompactRange, checkpoint: String, files: [LogFile], skipped: [Skipped], signingKey: String) {
        self.accountId = accountId
        self.trackId = trackId
        self.startTime = startTime
        self.endTime = endTime
        self.previousKey = previousKey
        self.previousSignature = previousSignature
        self.treeStart = treeStart
        self.checkpoint = checkpoint
        self.files = files
        self.skipped = skipped
        self.signingKey = signingKey
    }

    /// `<prefix>/CloudAudit-Digest/<YYYYMMDDHH>/<AccountId>_CloudAudit-Digest_<TrackId>_<YYYYMMDDTHHmmssZ>.json`, at the end time.
    public static func key(prefix: String, accountId: Int64, trackId: Int64, endTime: Int64) -> String {
        let t = UTCTime(endTime)
        return "\(prefix)/CloudAudit-Digest/\(t.compactHour)/\(accountId)_CloudAudit-Digest_\(trackId)_\(t.basicTimestamp).json"
    }

    static let signatureMarker = Array(#","Signature":""#.utf8)

    var json: JSONValue {
        func hashes(_ hs: [MerkleHash]) -> JSONValue { .array(hs.map { .string($0.hexString) }) }
        return .obj([
            ("DigestVersion", .int(Self.version)),
            ("AccountId", .int(accountId)),
            ("TrackId", .int(trackId)),
            ("DigestStartTime", .int(startTime)),
            ("DigestEndTime", .int(endTime)),
            ("PreviousDigestKey", previousKey.map { .string($0) } ?? .null),
            ("PreviousDigestSignature", previousSignature.map { .string($0) } ?? .null),
            ("TreeStart", .obj([("Size", .int(Int64(treeStart.size))), ("Hashes", hashes(treeStart.hashes))])),
            ("Checkpoint", .string(checkpoint)),
            ("LogFiles", .array(files.map { f in
                .obj([("Key", .string(f.key)), ("SHA256", .string(f.sha256.hexString)), ("ObjectSHA256", .string(f.objectSHA256.hexString)),
                      ("Events", .int(Int64(f.events))), ("FirstEventTime", .int(f.firstEventTime)), ("LastEventTime", .int(f.lastEventTime)),
                      ("Sequences", .array(f.sequences.map { .array([.int($0.lowerBound), .int($0.upperBound)]) }))])
            })),
            ("Skipped", .array(skipped.map { s in .obj([("From", .int(s.from)), ("To", .int(s.to)), ("Subtrees", hashes(s.subtrees))]) })),
            ("SigningKey", .string(signingKey)),
        ])
    }

    /// The file's bytes and its signature (base64), which the next digest quotes.
    public func signed(with key: SigningKey) throws -> (bytes: [UInt8], signature: String) {
        var out = JSONWriter.encode(json)
        out.removeLast()  // the closing brace: the signature is the last member
        let signature = Data(try key.sign(out)).base64EncodedString()
        out.append(contentsOf: Self.signatureMarker)
        out.append(contentsOf: Array(signature.utf8))
        out.append(contentsOf: Array("\"}\n".utf8))
        return (out, signature)
    }

    /// Parses a digest and checks its signature against `keys` (the signer must be one of them).
    public static func open(_ bytes: [UInt8], keys: [PublicSigningKey]) throws -> (digest: DigestFile, signature: String) {
        guard let at = lastIndex(of: signatureMarker, in: bytes) else { throw DigestError.malformed("it has no \"Signature\" member at its end") }
        let signed = Array(bytes[..<at])
        let digest = try parse(bytes)
        // Nothing but `<base64>"}` and whitespace may follow the marker: members after the signature are
        // not signed, and the parser keeps the last of duplicate keys, so they could override signed ones.
        let tail = bytes[(at + signatureMarker.count)...]
        guard let quote = tail.firstIndex(of: UInt8(ascii: "\"")), tail[(quote + 1)...].first == UInt8(ascii: "}"),
              tail[(quote + 2)...].allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) else {
            throw DigestError.malformed("its Signature is not its last member")
        }
        let sigText = String(decoding: tail[..<quote], as: UTF8.self)
        guard let sig = Data(base64Encoded: sigText) else { throw DigestError.malformed("its Signature is not base64") }
        guard let signer = try? PublicSigningKey(verifierKey: digest.signingKey) else { throw DigestError.malformed("its SigningKey is not a public key") }
        guard let trusted = keys.first(where: { $0 == signer }) else { throw DigestError.untrustedKey(digest.signingKey) }
        guard trusted.isValidSignature(Array(sig), for: signed) else { throw DigestError.badSignature }
        return (digest, sigText)
    }

    /// Parses without checking the signature.
    public static func parse(_ bytes: [UInt8]) throws -> DigestFile {
        let v: JSONValue
        do { v = try JSONParser.parse(bytes) } catch { throw DigestError.malformed("\(error)") }
        func int(_ o: JSONValue?, _ k: String) throws -> Int64 {
            guard case .int(let i)? = o?[k] else { throw DigestError.malformed("\(k) is missing or not an integer") }
            return i
        }
        func str(_ o: JSONValue?, _ k: String) throws -> String {
            guard let s = o?[k]?.stringValue else { throw DigestError.malformed("\(k) is missing or not a string") }
            return s
        }
        func optStr(_ k: String) throws -> String? {
            switch v[k] {
            case .null?, nil: return nil
            case .string(let s)?: return s
            default: throw DigestError.malformed("\(k) is not a string")
            }
        }
        func hash(_ s: String, _ what: String) throws -> MerkleHash {
            guard let h = [UInt8](hex: s), h.count == 32 else { throw DigestError.malformed("\(what) is not a 64-digit hex SHA-256") }
            return h
        }
        func hashes(_ a: JSONValue?, _ what: String) throws -> [MerkleHash] {
            guard let items = a?.arrayValue else { throw DigestError.malformed("\(what) is not a list") }
            return try items.map { item in
                guard let s = item.stringValue else { throw DigestError.malformed("\(what) holds a non-string") }
                return try hash(s, what)
            }
        }
        guard try int(v, "DigestVersion") == version else { throw DigestError.malformed("DigestVersion is not \(version)") }
        let startSize = try int(v["TreeStart"], "Size")
        guard startSize >= 0 else { throw DigestError.malformed("TreeStart.Size is negative") }
        let treeStart: CompactRange
        do { treeStart = try CompactRange(size: UInt64(startSize), hashes: try hashes(v["TreeStart"]?["Hashes"], "TreeStart.Hashes")) } catch let e as DigestError {
            throw e
        } catch { throw DigestError.malformed("TreeStart: \(error)") }
        guard let fileItems = v["LogFiles"]?.arrayValue, let skippedItems = v["Skipped"]?.arrayValue else {
            throw DigestError.malformed("LogFiles or Skipped is not a list")
        }
        let files = try fileItems.map { f -> LogFile in
            guard let runs = f["Sequences"]?.arrayValue else { throw DigestError.malformed("a log file's Sequences is not a list") }
            let sequences = try runs.map { r -> ClosedRange<Int64> in
                guard let pair = r.arrayValue, pair.count == 2, case .int(let a) = pair[0], case .int(let b) = pair[1], 0 < a, a <= b else {
                    throw DigestError.malformed("a run of Sequences is not [first, last]")
                }
                return a...b
            }
            return LogFile(key: try str(f, "Key"), sha256: try hash(try str(f, "SHA256"), "SHA256"),
                           objectSHA256: try hash(try str(f, "ObjectSHA256"), "ObjectSHA256"), events: Int(try int(f, "Events")),
                           firstEventTime: try int(f, "FirstEventTime"), lastEventTime: try int(f, "LastEventTime"), sequences: sequences)
        }
        let skipped = try skippedItems.map { s in
            Skipped(from: try int(s, "From"), to: try int(s, "To"), subtrees: try hashes(s["Subtrees"], "Skipped.Subtrees"))
        }
        return DigestFile(accountId: try int(v, "AccountId"), trackId: try int(v, "TrackId"), startTime: try int(v, "DigestStartTime"),
                          endTime: try int(v, "DigestEndTime"), previousKey: try optStr("PreviousDigestKey"),
                          previousSignature: try optStr("PreviousDigestSignature"), treeStart: treeStart, checkpoint: try str(v, "Checkpoint"),
                          files: files, skipped: skipped, signingKey: try str(v, "SigningKey"))
    }

    static func lastIndex(of needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        var i = hay.count - needle.count
        while i >= 0 {
            if hay[i] == needle[0] && Array(hay[i..<i + needle.count]) == needle { return i }
            i -= 1
        }
        return nil
    }
}

public enum DigestError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    /// Signed by a key that is not among the pinned public keys.
    case untrustedKey(String)
    /// The signature does not match the content: the digest was altered or forged.
    case badSignature

    public var description: String {
        switch self {
        case .malformed(let why): return "malformed digest: \(why)"
        case .untrustedKey(let k): return "signed by a key that is not trusted (\(k.prefix(60)))"
        case .badSignature: return "its signature does not match its content"
        }
    }
}
