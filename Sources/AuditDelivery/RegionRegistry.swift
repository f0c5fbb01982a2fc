import AsyncHTTPClient
import AuditConfiguration
import AuditModel
import AuditObjectStorage
import Foundation
import Logging

/// A notification channel (a CMQ-style queue): an HTTP webhook whose messages are signed with a secret.
public struct NotificationChannel: Sendable, CustomStringConvertible {
    public var name: String
    public var url: String
    public var secret: [UInt8]

    public init(name: String, url: String, secret: [UInt8]) {
        self.name = name
        self.url = url
        self.secret = secret
    }

    public var description: String { "\(name) -> \(url)" }
}

/// A configured storage region: its object store and notification channels.
public struct StorageRegion: Sendable {
    public var info: RegionInfo
    public var store: any ObjectStore
    public var channels: [NotificationChannel]

    public init(info: RegionInfo, store: any ObjectStore, channels: [NotificationChannel]) {
        self.info = info
        self.store = store
        self.channels = channels
    }
}

/// Why a regions file cannot be used; the message names the region and field, never a secret.
public struct RegionConfigError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The regions tracking sets may deliver to: the built-in `local` folder region plus those of the
/// operator's regions file.
public final class RegionRegistry: RegionCatalog, Sendable {
    public static let localName = "local"
    private let byName: [String: StorageRegion]
    private let order: [String]

    public init(_ regions: [StorageRegion]) {
        var byName: [String: StorageRegion] = [:]
        var order: [String] = []
        for r in regions where byName[r.info.name] == nil {
            byName[r.info.name] = r
            order.append(r.info.name)
        }
        self.byName = byName
        self.order = order
    }

    public var regions: [RegionInfo] { order.compactMap { byName[$0]?.info } }

    public func region(_ name: String) -> StorageRegion? { byName[name] }

    /// A channel by its queued name, `<region>/<channel>`.
    public func channel(_ qualified: String) -> NotificationChannel? {
        guard let slash = qualified.firstIndex(of: "/") else { return nil }
        let region = String(qualified[..<slash]), name = String(qualified[qualified.index(after: slash)...])
        return byName[region]?.channels.first { $0.name == name }
    }

    /// How long an API call waits for the object store before answering that the check failed.
    public static let checkDeadline: Duration = .seconds(8)

    public func location(region: String, bucket: String, prefix: String) -> String? {
        self.region(region)?.store.location(bucket: bucket, prefix: prefix)
    }

    public func checkBucket(region: String, bucket: String) async -> BucketCheck {
        guard let r = byName[region] else { return .failed("the region is not configured") }
        do {
            return try await Self.withDeadline(Self.checkDeadline) { try await r.store.bucketExists(bucket) } ? .exists : .missing
        } catch {
            return .failed(Self.reason(error))
        }
    }

    public func createBucket(region: String, bucket: String) async -> BucketCreation {
        guard let r = byName[region] else { return .failed("the region is not configured") }
        do {
            try await Self.withDeadline(Self.checkDeadline) { try await r.store.createBucket(bucket) }
            return .created
        } catch let e as ObjectStoreError where e.kind == .bucketAlreadyExists {
            return .alreadyExists
        } catch {
            return .failed(Self.reason(error))
        }
    }

    /// Runs `body`, giving up with `ObjectStoreError.unavailable` after `limit` (the store keeps
    /// retrying a refused connection until a request's own, much longer, deadline).
    static func withDeadline<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw ObjectStoreError(.unavailable, "the object store did not answer within \(limit.components.seconds) s")
            }
            return value
        }
    }

    /// A reason for an API caller: what kind of failure, never the transport's internals (those are
    /// in the server log and in `tracks status`).
    static func reason(_ error: Error) -> String {
        guard let e = error as? ObjectStoreError else { return "the object store could not be reached" }
        switch e.kind {
        case .unavailable: return "the region's object store could not be reached or kept failing"
        case .accessDenied: return "the region's object store refused its credentials"
        case .noSuchBucket: return "the bucket does not exist"
        case .bucketAlreadyExists: return "the bucket already exists"
        case .rejected:
            var text = e.message
            while text.hasSuffix(".") { text.removeLast() }
            return text
        }
    }

    // MARK: Loading


    /// A regions file lists a handful of endpoints; a larger file is not one.
    static let maxFileBytes = 1024 * 1024

    /// The built-in `local` region plus the regions of `file` (JSON, see docs/contract.md).
    public static func load(file: String?, dataDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            httpClient: HTTPClient = S3ObjectStore.defaultHTTPClient, logger: Logger) throws -> RegionRegistry {
        var entries: [Entry] = []
        if let file {
            let bytes: [UInt8]?
            do { bytes = try LocalFile.read(file, limit: maxFileBytes, what: "the regions file") } catch { throw RegionConfigError("\(error)") }
            guard let bytes else { throw RegionConfigError("cannot read the regions file \(file)") }
            do {
                entries = try JSONDecoder().decode(File.self, from: Data(bytes)).regions
            } catch let e as DecodingError {
                throw RegionConfigError("the regions file \(file) is not valid: \(describe(e))")
            } catch {
                throw RegionConfigError("the regions file \(file) is not valid JSON")
            }
        }
        var regions: [StorageRegion] = []
        var local = StorageRegion(info: RegionInfo(name: localName, nameZh: "本地目录", nameEn: "Local folder", channels: [], createsBucketsOnDemand: true),
                                  store: FileSystemObjectStore(root: (dataDirectory as NSString).appendingPathComponent("buckets")), channels: [])
        var seen: Set<String> = []
        for e in entries {
            guard seen.insert(e.name).inserted else { throw RegionConfigError("region \(e.name) is configured twice") }
            let channels = try (e.notifications ?? []).map { try channel($0, region: e.name, environment: environment) }
            if e.name == localName {
                local.info.nameZh = e.zh ?? local.info.nameZh
                local.info.nameEn = e.en ?? local.info.nameEn
                local.channels = channels
                local.info.channels = channels.map(\.name)
                continue
            }
            regions.append(try remote(e, channels: channels, environment: environment, httpClient: httpClient, logger: logger))
        }
        return RegionRegistry([local] + regions)
    }

    struct File: Decodable {
        var regions: [Entry]
    }

    struct Entry: Decodable {
        var name: String
        var zh: String?
        var en: String?
        var endpoint: String?
        var addressing: String?
        var signingRegion: String?
        var credentials: Credentials?
        var notifications: [Channel]?
    }

    struct Credentials: Decodable {
        var accessKeyIdEnv: String?
        var secretAccessKeyEnv: String?
        var sessionTokenEnv: String?
        var file: String?
    }

    struct Channel: Decodable {
        var name: String
        var url: String
        var secretEnv: String?
        var secretFile: String?
    }

    static func remote(_ e: Entry, channels: [NotificationChannel], environment: [String: String], httpClient: HTTPClient,
                       logger: Logger) throws -> StorageRegion {
        let where_ = "region \(e.name)"
        guard !e.name.isEmpty, e.name.utf8.count <= 64, !e.name.contains("/") else { throw RegionConfigError("a region name must be 1-64 characters without /") }
        guard let endpoint = e.endpoint, let url = URL(string: endpoint), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw RegionConfigError("\(where_): endpoint must be an http(s) URL such as https://cos.\(e.name).myqcloud.com")
        }
        let addressing: S3ObjectStore.Addressing
        switch e.addressing ?? "virtual-host" {
        case "path": addressing = .path
        case "virtual-host": addressing = .virtualHost
        case let other: throw RegionConfigError("\(where_): addressing must be path or virtual-host, not \(other)")
        }
        guard let c = e.credentials else { throw RegionConfigError("\(where_): credentials are required (accessKeyIdEnv/secretAccessKeyEnv, or file)") }
        let credentials = try s3Credentials(c, region: e.name, environment: environment)
        let store: S3ObjectStore
        do {
            store = try S3ObjectStore(endpoint: endpoint, addressing: addressing, signingRegion: e.signingRegion ?? e.name,
                                      credentials: credentials, httpClient: httpClient, logger: logger)
        } catch {
            throw RegionConfigError("\(where_): endpoint \(endpoint) is not usable: \(RegionRegistry.reason(error))")
        }
        return StorageRegion(info: RegionInfo(name: e.name, nameZh: e.zh ?? e.name, nameEn: e.en ?? e.name, channels: channels.map(\.name)),
                             store: store, channels: channels)
    }

    static func s3Credentials(_ c: Credentials, region: String, environment: [String: String]) throws -> S3Credentials {
        if let file = c.file {
            let data = try secretFile(file, what: "region \(region): credentials file")
            struct F: Decodable {
                var AccessKeyId: String
                var SecretAccessKey: String
                var SessionToken: String?
            }
            guard let f = try? JSONDecoder().decode(F.self, from: Data(data)) else {
                throw RegionConfigError("region \(region): credentials file \(file) must hold {\"AccessKeyId\": ..., \"SecretAccessKey\": ...}")
            }
            return S3Credentials(accessKeyId: f.AccessKeyId, secretAccessKey: f.SecretAccessKey, sessionToken: f.SessionToken)
        }
        guard let idVar = c.accessKeyIdEnv, let keyVar = c.secretAccessKeyEnv else {
            throw RegionConfigError("region \(region): credentials need accessKeyIdEnv and secretAccessKeyEnv, or file")
        }
        guard let id = environment[idVar], !id.isEmpty else { throw RegionConfigError("region \(region): environment variable \(idVar) is not set") }
        guard let key = environment[keyVar], !key.isEmpty else { throw RegionConfigError("region \(region): environment variable \(keyVar) is not set") }
        let token = c.sessionTokenEnv.flatMap { environment[$0] }
        return S3Credentials(accessKeyId: id, secretAccessKey: key, sessionToken: token)
    }

    static func channel(_ c: Channel, region: String, environment: [String: String]) throws -> NotificationChannel {
        let where_ = "region \(region), notification \(c.name)"
        guard (try? TrackRules.checkQueueName(c.name)) != nil else {
            throw RegionConfigError("\(where_): the name must be 1-64 characters, a letter first, then letters, digits and -")
        }
        guard let url = URL(string: c.url), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw RegionConfigError("\(where_): url must be an http(s) URL")
        }
        let secret: [UInt8]
        if let file = c.secretFile {
            secret = try secretFile(file, what: "\(where_): secret file")
        } else if let v = c.secretEnv {
            guard let s = environment[v], !s.isEmpty else { throw RegionConfigError("\(where_): environment variable \(v) is not set") }
            secret = Array(s.utf8)
        } else {
            throw RegionConfigError("\(where_): a secretEnv or secretFile is required to sign messages")
        }
        return NotificationChannel(name: c.name, url: c.url, secret: secret)
    }

    /// Reads a secret file, refusing one that others may read.
    static func secretFile(_ path: String, what: String) throws -> [UInt8] {
        var bytes: [UInt8]
        do { bytes = try SecretFile.read(path, what: what) } catch let problem as SecretFile.Problem { throw RegionConfigError(problem.description) }
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        return bytes
    }

    static func describe(_ e: DecodingError) -> String {
        switch e {
        case .keyNotFound(let k, let ctx): return "missing \(path(ctx.codingPath + [k]))"
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx): return "wrong type at \(path(ctx.codingPath))"
        case .dataCorrupted(let ctx): return ctx.codingPath.isEmpty ? "not JSON" : "bad value at \(path(ctx.codingPath))"
        @unknown default: return "unreadable"
        }
    }

    static func path(_ keys: [CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}
