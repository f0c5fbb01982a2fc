/// Tracking sets: which events an account ships to object storage, and where.

/// One product filter of a tracking set: an event matches when all three parts match.
public struct TrackFilter: Sendable, Equatable, Codable {
    /// `Read`, `Write` or `*`.
    public var actionType: String
    /// A product (`cvm`, `cos`...) or `*`.
    public var resourceType: String
    /// Event names, or `["*"]` for all.
    public var eventNames: [String]

    public init(actionType: String, resourceType: String, eventNames: [String]) {
        self.actionType = actionType
        self.resourceType = resourceType
        self.eventNames = eventNames
    }

    public func matches(actionType a: String, resourceType r: String, eventName n: String) -> Bool {
        (actionType == "*" || actionType == a) && (resourceType == "*" || resourceType == r)
            && (eventNames == ["*"] || eventNames.contains(n))
    }
}

/// Where a tracking set delivers.
public struct TrackStorage: Sendable, Equatable, Codable {
    /// Always `cos` (an S3-compatible bucket).
    public var type: String
    public var region: String
    /// The bucket name as the user gave it, without the COS `-APPID` suffix.
    public var name: String
    public var prefix: String
    /// true: gzip (`Compress` 1); false: plain JSON lines (`Compress` 2).
    public var compress: Bool
    public var accountId: String
    /// The COS APPID: the bucket is `<name>-<appId>` when set.
    public var appId: String

    public init(type: String = "cos", region: String, name: String, prefix: String, compress: Bool = true, accountId: String = "", appId: String = "") {
        self.type = type
        self.region = region
        self.name = name
        self.prefix = prefix
        self.compress = compress
        self.accountId = accountId
        self.appId = appId
    }

    /// The bucket as the object store knows it.
    public var bucket: String { appId.isEmpty ? name : "\(name)-\(appId)" }
}

/// The options of the older audit actions (`CreateAudit`/`UpdateAudit`) that tracking sets lack.
public struct LegacyAuditOptions: Sendable, Equatable, Codable {
    public var cmqNotify = false
    public var cmqQueueName = ""
    public var cmqRegion = ""
    public var kmsEncrypt = false
    public var keyId = ""
    public var kmsRegion = ""
    public var kmsAlias = ""

    public init() {}
}

/// A tracking set: filters, storage, status. Legacy audits are tracking sets too.
public struct Track: Sendable, Equatable, Codable {
    /// Assigned by the store (0 before).
    public var id: Int64
    public var accountId: Int64
    public var name: String
    public var enabled: Bool
    public var storage: TrackStorage
    /// ORed. One filter for single-product sets.
    public var filters: [TrackFilter]
    /// Created with `CreateEventsAuditTrack` (several products).
    public var multiProduct: Bool
    public var trackForAllMembers: Bool
    public var legacy: LegacyAuditOptions
    public var createdAt: Int64

    public init(id: Int64 = 0, accountId: Int64, name: String, enabled: Bool, storage: TrackStorage, filters: [TrackFilter],
                multiProduct: Bool = false, trackForAllMembers: Bool = false, legacy: LegacyAuditOptions = .init(), createdAt: Int64 = 0) {
        self.id = id
        self.accountId = accountId
        self.name = name
        self.enabled = enabled
        self.storage = storage
        self.filters = filters
        self.multiProduct = multiProduct
        self.trackForAllMembers = trackForAllMembers
        self.legacy = legacy
        self.createdAt = createdAt
    }

    public func matches(actionType: String, resourceType: String, eventName: String) -> Bool {
        filters.contains { $0.matches(actionType: actionType, resourceType: resourceType, eventName: eventName) }
    }
}

/// Why a tracking-set field is invalid, with the API error code to answer.
public struct TrackValidationError: Error, Equatable, Sendable {
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// The field rules of the official model (names, filters, storage).
public enum TrackRules {
    public static let maxEventNames = 10
    public static let maxResourceFields = 20

    /// Tracking-set and audit names: 3-48 of letters, digits, `-` and `_`.
    public static func checkName(_ name: String, field: String = "Name") throws {
        guard (3...48).contains(name.utf8.count), name.utf8.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else {
            throw TrackValidationError("InvalidParameterValue", "\(field) must be 3-48 characters of letters, digits, - and _ (got \"\(clip(name))\")")
        }
    }

    public static func checkFilter(_ f: TrackFilter, field: String = "") throws {
        guard ["Read", "Write", "*"].contains(f.actionType) else {
            throw TrackValidationError("InvalidParameterValue", "\(field)ActionType must be Read, Write or * (got \"\(clip(f.actionType))\")")
        }
        guard (1...128).contains(f.resourceType.unicodeScalars.count), !f.resourceType.contains(where: \.isWhitespace) else {
            throw TrackValidationError("InvalidParameterValue", "\(field)ResourceType must be a product such as cvm or cos (1-128 characters, no spaces), or * for all")
        }
        guard (1...maxEventNames).contains(f.eventNames.count) else {
            throw TrackValidationError("InvalidParameterValue", "\(field)EventNames must list 1 to \(maxEventNames) event names, or [\"*\"] for all (got \(f.eventNames.count))")
        }
        if f.resourceType == "*", f.eventNames != ["*"] {
            throw TrackValidationError("InvalidParameterValue", "\(field)EventNames must be [\"*\"] when ResourceType is * (all products)")
        }
        if f.eventNames.count > 1, f.eventNames.contains("*") {
            throw TrackValidationError("InvalidParameterValue", "\(field)EventNames must be either [\"*\"] or a list of names, not both")
        }
        if let bad = f.eventNames.first(where: { !(1...128).contains($0.unicodeScalars.count) }) {
            throw TrackValidationError("InvalidParameterValue", "\(field)EventNames entries must be 1-128 characters (got \"\(clip(bad))\")")
        }
    }

    /// COS bucket names: lower-case letters, digits and `-`, 1-50, not starting or ending with `-`.
    public static func checkBucketName(_ name: String, field: String = "StorageName") throws {
        let u = Array(name.utf8)
        guard (1...50).contains(u.count), u.first != UInt8(ascii: "-"), u.last != UInt8(ascii: "-"),
              u.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") }) else {
            throw TrackValidationError("InvalidParameterValue.CosNameError",
                        "\(field) must be 1-50 lower-case letters, digits and -, not starting or ending with - (got \"\(clip(name))\")")
        }
    }

    /// Log file prefixes: 3-40 ASCII letters and digits.
    public static func checkPrefix(_ prefix: String, field: String = "StoragePrefix") throws {
        guard (3...40).contains(prefix.utf8.count), prefix.utf8.allSatisfy(isAlnum) else {
            throw TrackValidationError("InvalidParameterValue.LogFilePrefixError", "\(field) must be 3-40 ASCII letters and digits (got \"\(clip(prefix))\")")
        }
    }

    /// Queue names: 1-64, a letter first, then letters, digits and `-`.
    public static func checkQueueName(_ name: String) throws {
        let u = Array(name.utf8)
        guard (1...64).contains(u.count), let first = u.first, isAlpha(first), u.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") }) else {
            throw TrackValidationError("InvalidParameterValue.QueueNameError", "CmqQueueName must be 1-64 characters, a letter first, then letters, digits and - (got \"\(clip(name))\")")
        }
    }

    static func isAlpha(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
    static func isAlnum(_ c: UInt8) -> Bool { isAlpha(c) || (c >= 0x30 && c <= 0x39) }

    static func clip(_ s: String) -> String { TextClip.scalars(s, 60, marker: "...") }
}

/// A storage region as the API describes it.
public struct RegionInfo: Sendable, Equatable {
    public var name: String
    public var nameZh: String
    public var nameEn: String
    /// The names of its notification channels (CMQ-style queues).
    public var channels: [String]
    /// Buckets are created when a tracking set first names them (the `local` folder region).
    public var createsBucketsOnDemand: Bool

    public init(name: String, nameZh: String, nameEn: String, channels: [String], createsBucketsOnDemand: Bool = false) {
        self.name = name
        self.nameZh = nameZh
        self.nameEn = nameEn
        self.channels = channels
        self.createsBucketsOnDemand = createsBucketsOnDemand
    }
}

/// What a bucket check found.
public enum BucketCheck: Sendable, Equatable {
    case exists
    case missing
    /// The store could not be reached or refused to answer; the text says why (no secrets).
    case failed(String)
}

/// What creating a bucket did.
public enum BucketCreation: Sendable, Equatable {
    case created
    case alreadyExists
    case failed(String)
}

/// The configured regions, as the API layer sees them (implemented by the delivery module).
public protocol RegionCatalog: Sendable {
    var regions: [RegionInfo] { get }
    func checkBucket(region: String, bucket: String) async -> BucketCheck
    func createBucket(region: String, bucket: String) async -> BucketCreation
    /// Where a set's files are, as a person reads it (a folder path, a bucket URL); nil for an unknown region.
    func location(region: String, bucket: String, prefix: String) -> String?
}

extension RegionCatalog {
    public func region(named name: String) -> RegionInfo? { regions.first { $0.name == name } }
}
