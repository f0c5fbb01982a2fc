import Foundation

/// A claim on one piece of work shared between the nodes of a deployment (a tracking set's delivery,
/// checkpoint signing, retention): held by one node until `expiresAt` unless renewed.
public struct Lease: Sendable, Equatable {
    public var name: String
    /// A fencing token: it grows every time the lease changes holder, so a write made under an old
    /// token (by a node that lost its lease while paused) can be told from the new holder's.
    public var token: Int64
    public var expiresAt: Int64

    public init(name: String, token: Int64, expiresAt: Int64) {
        self.name = name
        self.token = token
        self.expiresAt = expiresAt
    }

    /// The lease the current task works under (`LeaseFence.$current.withValue(lease) { ... }`): a
    /// shared store refuses the delivery-state and checkpoint writes of a task whose lease has since
    /// passed to another holder (`StoreError.leaseLost`).
    @TaskLocal public static var current: Lease?
}

/// Leases on shared work (docs/postgres.md, "Work shared between nodes").
///
/// Contract (checked by the conformance suite):
/// - `claimLease` grants a lease that is free or expired, or renews the caller's own; it returns nil
///   while another holder's lease runs. The token grows with every change of holder, never on renewal.
/// - `releaseLease` frees the caller's own lease at once (another holder's is untouched).
public protocol WorkLeases: Sendable {
    func claimLease(_ name: String, holder: String, ttl: Int64, now: Int64) async throws -> Lease?
    func releaseLease(_ name: String, holder: String) async throws
    /// Whether the store refuses the writes of a task whose `Lease.current` has passed to another holder
    /// (a store shared by nodes must; one process needs not).
    var fencesWrites: Bool { get }
}

/// The leases of a deployment with one node (the embedded store: its serve lock keeps a second node
/// away), kept in memory.
public final class LocalLeases: WorkLeases, @unchecked Sendable {
    private let lock = NSLock()
    private var held: [String: (holder: String, lease: Lease)] = [:]

    public init() {}

    public var fencesWrites: Bool { false }

    public func claimLease(_ name: String, holder: String, ttl: Int64, now: Int64) async throws -> Lease? {
        lock.withLock {
            if let current = held[name], current.lease.expiresAt > now, current.holder != holder { return nil }
            let token = held[name].map { $0.holder == holder && $0.lease.expiresAt > now ? $0.lease.token : $0.lease.token + 1 } ?? 1
            let lease = Lease(name: name, token: token, expiresAt: min(now, Int64.max - ttl) + ttl)
            held[name] = (holder, lease)
            return lease
        }
    }

    public func releaseLease(_ name: String, holder: String) async throws {
        lock.withLock {
            if let current = held[name], current.holder == holder {
                held[name] = (holder: "", lease: Lease(name: name, token: current.lease.token, expiresAt: 0))
            }
        }
    }
}

extension WorkLeases {
    /// How long a lease on shared work lasts without renewal: a dead node's work is taken over within
    /// this (and the taker's next pass).
    public static var leaseSeconds: Int64 { 30 }

    /// Claims (or renews) `name` for this node: the lease, or nil while another node holds it.
    public func claim(_ name: String, now: Int64) async throws -> Lease? {
        try await claimLease(name, holder: NodeIdentity.current, ttl: Self.leaseSeconds, now: now)
    }
}

/// Who this process is among the nodes of a deployment, in lease rows and logs.
public enum NodeIdentity {
    public static let current: String = {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0 ? String(cString: name) : "node"
        return "\(host)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }()
}
