import AuditModel
import Crypto
import Foundation

/// Credentials of an S3-compatible store (an access key, or temporary credentials with a session
/// token). Printing them never shows the secret or the token.
public struct S3Credentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var accessKeyId: String
    public var secretAccessKey: String
    /// The STS session token of temporary credentials, sent as `x-amz-security-token`.
    public var sessionToken: String?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String {
        "S3Credentials(accessKeyId: \(accessKeyId), secretAccessKey: <redacted>\(sessionToken == nil ? "" : ", sessionToken: <redacted>"))"
    }

    public var debugDescription: String { description }

    /// Keeps `dump(_:)` and debugger views from printing the secret.
    public var customMirror: Mirror {
        Mirror(self, children: ["accessKeyId": accessKeyId, "secretAccessKey": "<redacted>",
                                "sessionToken": sessionToken == nil ? "nil" : "<redacted>"])
    }
}

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`) with the S3 rules: the path is URI-encoded once, per
/// segment, and never normalised (`a/../b` and `//` are signed as written).
///
/// ``sign(method:path:query:headers:payloadHash:accessKeyId:secretAccessKey:region:service:date:)`` is a
/// pure function of its inputs, so it is tested against AWS's published vectors. It signs every header
/// it is given; the caller must send exactly those headers (with `host` and `x-amz-date` among them)
/// and the path and query encoded by ``encodePath(_:)`` and ``canonicalQuery(_:)``.
public enum SigV4 {
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// Hex SHA-256 of the empty payload.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The result of signing. `canonicalRequest` and `stringToSign` are what the server rebuilds; they
    /// hold header values (among them a session token, if one is signed), so do not log them.
    public struct Signature: Sendable, Equatable {
        public var canonicalRequest: String
        public var stringToSign: String
        /// `<date>/<region>/<service>/aws4_request`.
        public var credentialScope: String
        /// The lower-cased, sorted, `;`-separated header names.
        public var signedHeaders: String
        /// Hex HMAC-SHA256 of `stringToSign` under the derived signing key.
        public var signature: String
        /// The `Authorization` header value.
        public var authorization: String
    }

    /// Signs one request.
    ///
    /// - Parameters:
    ///   - method: `GET`, `PUT`...
    ///   - path: the decoded path, e.g. `/bucket/my key.json`; empty means `/`.
    ///   - query: decoded query items, in any order; a value-less item (`?uploads`) has value "".
    ///   - headers: every header to sign (names in any case; repeated names are joined with `,`).
    ///   - payloadHash: hex SHA-256 of the body (the `x-amz-content-sha256` value for S3).
    ///   - date: the signing time; it must be the instant written in the `x-amz-date` header.
    public static func sign(
        method: String, path: String, query: [(name: String, value: String)], headers: [(name: String, value: String)],
        payloadHash: String, accessKeyId: String, secretAccessKey: String, region: String, service: String = "s3",
        date: Date
    ) -> Signature {
        let timestamp = Self.timestamp(date)
        let day = String(timestamp.prefix(8))
        let (canonicalHeaders, signedHeaders) = canonicalHeaders(headers)
        let canonicalRequest = [
            method.uppercased(), encodePath(path), canonicalQuery(query), canonicalHeaders, signedHeaders, payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [algorithm, timestamp, scope, hexSHA256(Array(canonicalRequest.utf8))].joined(separator: "\n")
        let key = signingKey(secretAccessKey: secretAccessKey, day: day, region: region, service: service)
        let signature = Array(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key)).hexString
        let authorization = "\(algorithm) Credential=\(accessKeyId)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signature(canonicalRequest: canonicalRequest, stringToSign: stringToSign, credentialScope: scope,
                         signedHeaders: signedHeaders, signature: signature, authorization: authorization)
    }

    /// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request")`.
    public static func signingKey(secretAccessKey: String, day: String, region: String, service: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array(("AWS4" + secretAccessKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        return key
    }

    /// The `x-amz-date` form of `date`: `YYYYMMDD'T'HHMMSS'Z'` in UTC.
    public static func timestamp(_ date: Date) -> String {
        UTCTime(Int64(date.timeIntervalSince1970.rounded(.down))).basicTimestamp
    }

    /// The path with each segment URI-encoded (RFC 3986 unreserved characters kept, `/` kept).
    public static func encodePath(_ path: String) -> String {
        guard !path.isEmpty else { return "/" }
        let encoded = path.split(separator: "/", omittingEmptySubsequences: false).map { encode(String($0)) }.joined(separator: "/")
        return encoded.hasPrefix("/") ? encoded : "/" + encoded
    }

    /// The canonical query string: items encoded, sorted by name then value, `name=value` joined by `&`.
    public static func canonicalQuery(_ items: [(name: String, value: String)]) -> String {
        let encoded: [(name: String, value: String)] = items.map { (encode($0.name), encode($0.value)) }
        let sorted = encoded.sorted { (a, b) -> Bool in a.name == b.name ? a.value < b.value : a.name < b.name }
        return sorted.map { $0.name + "=" + $0.value }.joined(separator: "&")
    }

    /// RFC 3986 percent-encoding of everything but `A-Z a-z 0-9 - _ . ~`, in upper-case hex over UTF-8.
    public static func encode(_ string: String) -> String {
        var out = ""
        out.reserveCapacity(string.utf8.count)
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(hexDigits[Int(byte >> 4)]) + String(hexDigits[Int(byte & 0x0F)])
            }
        }
        return out
    }

    /// Hex SHA-256, the form of `x-amz-content-sha256`.
    public static func hexSHA256<Bytes: DataProtocol>(_ bytes: Bytes) -> String {
        Array(SHA256.hash(data: bytes)).hexString
    }

    // MARK: - Internals

    /// Lower-cased names sorted, values trimmed with inner runs of spaces collapsed, repeated names
    /// joined with `,` in the order given.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (canonical: String, signed: String) {
        var values: [String: [String]] = [:]
        for header in headers {
            values[header.name.lowercased(), default: []].append(normalise(header.value))
        }
        let names = values.keys.sorted()
        let canonical = names.map { "\($0):\(values[$0, default: []].joined(separator: ","))\n" }.joined()
        return (canonical, names.joined(separator: ";"))
    }

    private static func normalise(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }

    private static let hexDigits = Array("0123456789ABCDEF")

}
