import AuditModel
import Crypto
import Foundation

/// TC3-HMAC-SHA256, the request signature of the Tencent Cloud API 3.0.
///
/// One implementation serves both sides: clients call ``sign(_:secretKey:)`` to build the
/// `Authorization` header, the server calls the same function on the request it received and compares
/// the result in constant time. The canonical form follows the official SDKs' `_get_tc3_signature`:
/// method, URI, query string as sent, the signed headers (names lower-cased, values trimmed), the
/// signed-header list, and the hex SHA-256 of the body (or of `UNSIGNED-PAYLOAD`).
public enum TC3Signer {
    public static let algorithm = "TC3-HMAC-SHA256"

    /// Everything the signature covers.
    public struct Request: Sendable {
        public var method: String
        public var uri: String
        public var query: String
        /// The signed headers as (lower-case name, value) in the order of the signed-header list.
        public var signedHeaders: [(name: String, value: String)]
        /// Hex SHA-256 of the payload, or of the literal `UNSIGNED-PAYLOAD`.
        public var payloadHash: String
        public var timestamp: Int64
        public var service: String

        public init(method: String, uri: String = "/", query: String = "", signedHeaders: [(name: String, value: String)],
                    payloadHash: String, timestamp: Int64, service: String) {
            self.method = method
            self.uri = uri
            self.query = query
            self.signedHeaders = signedHeaders
            self.payloadHash = payloadHash
            self.timestamp = timestamp
            self.service = service
        }

        /// The UTC date (`YYYY-MM-DD`) of the timestamp, which scopes the credential.
        public var date: String { TC3Signer.utcDate(timestamp) }
    }

    public static func hexSHA256<D: DataProtocol>(_ data: D) -> String {
        SHA256.hash(data: data).hexString
    }

    public static func canonicalRequest(_ r: Request) -> String {
        let headers = r.signedHeaders.map { "\($0.name.lowercased()):\($0.value.trimmingCharacters(in: .whitespaces))\n" }.joined()
        let names = r.signedHeaders.map { $0.name.lowercased() }.joined(separator: ";")
        return "\(r.method)\n\(r.uri)\n\(r.query)\n\(headers)\n\(names)\n\(r.payloadHash)"
    }

    public static func stringToSign(_ r: Request) -> String {
        let scope = "\(r.date)/\(r.service)/tc3_request"
        return "\(algorithm)\n\(r.timestamp)\n\(scope)\n\(hexSHA256(Array(canonicalRequest(r).utf8)))"
    }

    /// The hex signature of `r` under `secretKey`.
    public static func signature(_ r: Request, secretKey: String) -> String {
        let kDate = hmac(key: Array(("TC3" + secretKey).utf8), r.date)
        let kService = hmac(key: kDate, r.service)
        let kSigning = hmac(key: kService, "tc3_request")
        return hmac(key: kSigning, stringToSign(r)).hexString
    }

    /// The full `Authorization` header value.
    public static func authorization(_ r: Request, secretId: String, secretKey: String) -> String {
        let names = r.signedHeaders.map { $0.name.lowercased() }.joined(separator: ";")
        return "\(algorithm) Credential=\(secretId)/\(r.date)/\(r.service)/tc3_request, SignedHeaders=\(names), Signature=\(signature(r, secretKey: secretKey))"
    }

    static func hmac(key: [UInt8], _ message: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key)))
    }

    public static func utcDate(_ timestamp: Int64) -> String { UTCTime(timestamp).isoDate }
}

/// A parsed `Authorization: TC3-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` header.
public struct TC3Authorization: Sendable, Equatable {
    public var secretId: String
    public var date: String
    public var service: String
    public var signedHeaders: [String]
    public var signature: String

    /// Returns nil when the header is not a well-formed TC3 authorization.
    public init?(header: String) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix(TC3Signer.algorithm + " ") else { return nil }
        var fields: [String: String] = [:]
        for part in trimmed.dropFirst(TC3Signer.algorithm.count + 1).split(separator: ",") {
            let kv = part.trimmingCharacters(in: .whitespaces)
            guard let eq = kv.firstIndex(of: "=") else { return nil }
            fields[String(kv[..<eq])] = String(kv[kv.index(after: eq)...])
        }
        guard let credential = fields["Credential"], let signed = fields["SignedHeaders"], let sig = fields["Signature"] else { return nil }
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 4, scope[3] == "tc3_request", !scope[0].isEmpty else { return nil }
        guard sig.utf8.count == 64, sig.utf8.allSatisfy(Self.isHexDigit) else { return nil }
        let names = signed.split(separator: ";").map { $0.lowercased() }
        guard !names.isEmpty else { return nil }
        self.secretId = scope[0]
        self.date = scope[1]
        self.service = scope[2]
        self.signedHeaders = names
        self.signature = sig.lowercased()
    }

    /// An ASCII hex digit (`Character.isHexDigit` also holds for the fullwidth forms, U+FF10...).
    static func isHexDigit(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x46).contains(b) || (0x61...0x66).contains(b)
    }
}
