/// Server-side page cursors, for clients whose NextToken is an integer, and the deployment's secret
/// that keys the cursors' hashes.
///
/// Contract (checked by the conformance suite): a cursor is returned only to its own account and only
/// before it expires.
public protocol PageCursorStore: Sendable {
    func saveCursor(token: Int64, accountId: Int64, payload: [UInt8], expiresAt: Int64) async throws
    func cursor(token: Int64, accountId: Int64, now: Int64) async throws -> [UInt8]?
    func deleteExpiredCursors(now: Int64) async throws

    /// A random secret generated when the store was created, for keyed hashing of cursors (the same on
    /// every node of a deployment).
    func deploymentSecret() async throws -> [UInt8]
}
