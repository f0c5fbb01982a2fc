import AuditAuth
import AuditModel
import AuditStore
import Crypto
import Foundation

/// Page cursors that a client cannot forge or move to another account or query.
///
/// A cursor is the position where the page ended plus an HMAC (keyed by a secret of the deployment)
/// over that position, the account, and the query's canonical form. A token changed by one bit, taken
/// to another account, or sent with a different query fails verification.
/// `DescribeEvents` wants an integer `NextToken`: there the string cursor is kept server-side under a
/// random 53-bit number bound to the account, for a day.
public struct PageCursorCodec: Sendable {
    let key: SymmetricKey
    public static let integerTokenLifetime: Int64 = 86400

    public init(secret: [UInt8]) {
        key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array("cloudaudit page cursor v1".utf8), using: SymmetricKey(data: secret)))
    }

    static func canonical(_ q: EventQuery) -> [UInt8] {
        var s = "\(q.accountId)|\(q.startTime)|\(q.endTime)"
        func add(_ conditions: [LookupCondition]) {
            for c in conditions.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                s += "|\(c.key.rawValue)=" + c.values.sorted().map { "\($0.utf8.count):\($0)" }.joined(separator: ",")
            }
        }
        add(q.conditions)
        // The extensions join the form only when used, so that the cursors of plain queries keep theirs.
        if !q.excluding.isEmpty {
            s += "|not"
            add(q.excluding)
        }
        if let through = q.throughSequence { s += "|through=\(through)" }
        return Array(s.utf8)
    }

    func mac(_ position: PagePosition, _ q: EventQuery) -> [UInt8] {
        var h = HMAC<SHA256>(key: key)
        withUnsafeBytes(of: position.eventTime.bigEndian) { h.update(data: Array($0)) }
        withUnsafeBytes(of: position.position.bigEndian) { h.update(data: Array($0)) }
        h.update(data: Self.canonical(q))
        return Array(h.finalize().prefix(16))
    }

    public func encode(_ position: PagePosition, for q: EventQuery) -> String {
        var bytes: [UInt8] = [1]
        withUnsafeBytes(of: position.eventTime.bigEndian) { bytes += $0 }
        withUnsafeBytes(of: position.position.bigEndian) { bytes += $0 }
        bytes += mac(position, q)
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// - Throws: `APIError.badNextToken` for any token not made by `encode` for this query.
    public func decode(_ token: String, for q: EventQuery) throws -> PagePosition {
        var b64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard token.count <= 64, let data = Data(base64Encoded: b64), data.count == 33, data.first == 1 else { throw APIError.badNextToken }
        let bytes = Array(data)
        func int(_ at: Int) -> Int64 { bytes[at..<at + 8].reduce(Int64(0)) { $0 << 8 | Int64($1) } }
        let position = PagePosition(eventTime: int(1), position: int(9))
        let expected = mac(position, q)
        guard constantTimeEquals(expected.hexString, Array(bytes[17...]).hexString) else { throw APIError.badNextToken }
        return position
    }

    public static func randomIntegerToken() -> Int64 {
        Int64.random(in: 1...(1 << 53) - 1)
    }
}
