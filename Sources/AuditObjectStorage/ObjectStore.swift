/// Where delivered files go: a bucket of objects addressed by key. Implementations: a folder per
/// bucket (`FileSystemObjectStore`, the `local` region) and S3-compatible services (`S3ObjectStore`:
/// Tencent COS, AWS S3, MinIO, Ceph, moto).
public protocol ObjectStore: Sendable {
    /// Whether the bucket exists (and is reachable with our credentials).
    /// Throws `ObjectStoreError` when the store cannot answer (network, 5xx after retries, 403).
    func bucketExists(_ bucket: String) async throws -> Bool
    /// Creates the bucket. Throws `ObjectStoreError.bucketAlreadyExists` when it exists.
    func createBucket(_ bucket: String) async throws
    /// Writes (or overwrites) one object. The object is readable in full when this returns.
    func put(bucket: String, key: String, body: [UInt8], contentType: String) async throws
    /// Reads one object; nil when it does not exist.
    func get(bucket: String, key: String) async throws -> [UInt8]?
    /// Every key under `prefix`, in lexicographic order.
    func list(bucket: String, prefix: String) async throws -> [String]
    /// Where a person finds the objects under `prefix`: a URL (`file://` for a folder).
    func location(bucket: String, prefix: String) -> String
}

extension ObjectStore {
    public func location(bucket: String, prefix: String) -> String { bucket + "/" + prefix }
}

/// A failure of an object store, safe to show to a user: it never holds a credential or a signature.
public struct ObjectStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The bucket does not exist (S3 `NoSuchBucket`, or the folder is gone).
        case noSuchBucket
        case bucketAlreadyExists
        /// The store refused our credentials (403, `AccessDenied`, `SignatureDoesNotMatch`...).
        case accessDenied
        /// The store could not be reached, or kept failing with 5xx through every retry.
        case unavailable
        /// Any other refusal (4xx), with the store's code.
        case rejected
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// Worth retrying later (the delivery service keeps its cursor and tries again).
    public var isTransient: Bool { kind == .unavailable }
}
