// swift-tools-version:6.1
import Foundation
import PackageDescription

let package = Package(
    name: "cloudaudit",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cloudaudit", targets: ["cloudaudit"]),
        .library(name: "AuditClient", targets: ["AuditClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // The layers and what each may import are in docs/architecture.md; scripts/check-imports holds
        // the code to them.

        // Event record, lookup attributes, validation, JSON parsing. Foundation only.
        .target(name: "AuditModel"),
        // Generated events for benchmarks, demos and tests.
        .target(name: "AuditSynthetic", dependencies: ["AuditModel"]),
        // The configuration model (options declared once: flag, environment, file, default, validation)
        // and reading operator-provided files: size-bounded reads, owner-only secret files.
        .target(name: "AuditConfiguration", dependencies: ["AuditModel"]),
        // TC3-HMAC-SHA256, one signer for server and clients: all a producer needs to sign.
        .target(name: "AuditSigning", dependencies: ["AuditModel", .product(name: "Crypto", package: "swift-crypto")]),
        // Credentials: key generation, secrets sealed at rest, console password hashes.
        .target(name: "AuditAuth", dependencies: [
            "AuditModel", .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
        ]),
        // RFC 6962 Merkle log, proofs, signed checkpoints and digests, envelope encryption.
        .target(name: "AuditIntegrity", dependencies: ["AuditModel", .product(name: "Crypto", package: "swift-crypto")]),
        // Object storage: the ObjectStore protocol, the folder store, S3/COS with SigV4, gzip.
        .target(name: "AuditObjectStorage", dependencies: [
            "AuditModel",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CompressNIO", package: "compress-nio"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The offline verifier of a delivered bucket (cloudaudit verify): digests, chains, files, the log.
        .target(name: "AuditVerify", dependencies: [
            "AuditModel", "AuditIntegrity", "AuditObjectStorage", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The storage roles (one protocol per consumer), the Storage value, an in-memory backend.
        .target(name: "AuditStore", dependencies: ["AuditModel", "AuditIntegrity", .product(name: "Metrics", package: "swift-metrics")]),
        // The store conformance suite that every backend runs (XCTest helpers).
        .target(name: "AuditStoreConformance", dependencies: ["AuditModel", "AuditStore", "AuditIntegrity"], path: "Tests/AuditStoreConformance"),
        // The embedded default backend.
        .target(name: "AuditStoreSQLite", dependencies: [
            "AuditModel", "AuditStore", "AuditIntegrity",
            .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),
        // The PostgreSQL backend for many nodes (docs/postgres.md).
        .target(name: "AuditStorePostgres", dependencies: [
            "AuditModel", "AuditStore", "AuditIntegrity", "AuditConfiguration",
            .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
        ]),
        // Tracking-set delivery: files, digests, encryption keys, regions, notifications, metrics.
        .target(name: "AuditDelivery", dependencies: [
            "AuditModel", "AuditStore", "AuditIntegrity", "AuditObjectStorage", "AuditConfiguration",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Alert notification channel senders: SMTP email (STARTTLS, AUTH), RFC 5424 syslog over TCP/TLS.
        .target(name: "AuditAlerts", dependencies: [
            "AuditModel", "AuditStore",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // API 3.0 actions, TC3 auth, errors, self-audit.
        .target(name: "AuditAPI", dependencies: [
            "AuditModel", "AuditStore", "AuditSigning", "AuditAuth", "AuditIntegrity",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The web console: its page (HTML, CSS and JavaScript files in Resources/, embedded in the
        // binary as byte arrays: ConsoleAssets), sign-in, sessions, CSRF, export, on the API's actions.
        .target(name: "AuditConsole", dependencies: [
            "AuditModel", "AuditStore", "AuditAuth", "AuditAPI",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], resources: [.embedInCode("Resources")]),
        // The signed API client: what a producer links (the CLI uses it too).
        .target(name: "AuditClient", dependencies: [
            "AuditSigning",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // Composition root: the storage backend choice, data directory, keys, services -> ServiceGroup.
        .target(name: "AuditServer", dependencies: [
            "AuditModel", "AuditStore", "AuditStoreSQLite", "AuditStorePostgres", "AuditAuth", "AuditIntegrity", "AuditDelivery", "AuditAPI", "AuditConsole",
            "AuditConfiguration", "AuditAlerts",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // `cloudaudit bench`: throughput, latency and size measurements, apart from the product code.
        .target(name: "AuditBench", dependencies: [
            "AuditModel", "AuditSynthetic", "AuditStore", "AuditIntegrity", "AuditObjectStorage", "AuditVerify", "AuditDelivery",
            "AuditClient", "AuditServer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "cloudaudit", dependencies: [
            "AuditModel", "AuditSynthetic", "AuditConfiguration", "AuditStore", "AuditIntegrity", "AuditObjectStorage", "AuditVerify",
            "AuditDelivery", "AuditAuth", "AuditClient", "AuditServer", "AuditBench",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "AuditModelTests", dependencies: ["AuditModel", "AuditSynthetic"]),
        .testTarget(name: "AuditConfigurationTests", dependencies: ["AuditConfiguration"]),
        .testTarget(name: "AuditIntegrityTests", dependencies: ["AuditIntegrity", "AuditModel", "AuditSynthetic", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "AuditAuthTests", dependencies: ["AuditAuth", "AuditSigning"]),
        .testTarget(name: "AuditClientTests", dependencies: ["AuditClient"]),
        .testTarget(name: "AuditStoreTests", dependencies: ["AuditModel", "AuditStore", "AuditStoreConformance"]),
        .testTarget(name: "AuditStoreSQLiteTests", dependencies: [
            "AuditModel", "AuditStore", "AuditStoreSQLite", "AuditStoreConformance", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "AuditStorePostgresTests", dependencies: [
            "AuditModel", "AuditStore", "AuditStorePostgres", "AuditStoreConformance", "AuditConfiguration",
            .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "AuditDeliveryTests", dependencies: [
            "AuditDelivery", "AuditObjectStorage", "AuditVerify", "AuditStore", "AuditModel", "AuditIntegrity",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "AuditAlertsTests", dependencies: [
            "AuditAlerts", "AuditModel", "AuditStore",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "AuditAPITests", dependencies: [
            "AuditModel", "AuditAPI", "AuditConsole", "AuditServer", "AuditStore", "AuditSigning", "AuditAuth", "AuditDelivery",
            "AuditIntegrity",
            .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ],
    swiftLanguageModes: [.v5]
)

// Coverage-guided fuzz targets (libFuzzer), only with CLOUDAUDIT_FUZZ=1 so that the normal build and
// CI are unchanged. Build and run them with scripts/fuzz (its own scratch path, .build-fuzz).
if ProcessInfo.processInfo.environment["CLOUDAUDIT_FUZZ"] == "1" {
    let fuzzFlags: [SwiftSetting] = [.unsafeFlags(["-sanitize=fuzzer,address", "-parse-as-library"])]
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzQueryString", ["AuditAPI", "AuditModel"]),
        ("FuzzQueryParameters", ["AuditAPI", "AuditModel"]),
        ("FuzzEventRecord", ["AuditModel"]),
        ("FuzzAuthorization", ["AuditAPI", "AuditSigning", "AuditModel"]),
        ("FuzzNextToken", ["AuditAPI", "AuditStore", "AuditModel"]),
        ("FuzzSignedNote", ["AuditIntegrity", "AuditModel"]),
        ("FuzzMerkleProof", ["AuditIntegrity"]),
        ("FuzzConfiguration", ["AuditConfiguration", "AuditModel"]),
        ("FuzzForwarded", ["AuditAPI", "AuditModel"]),
        ("FuzzBackupManifest", ["AuditStore"]),
        ("FuzzStoreLocation", ["AuditConfiguration"]),
        ("FuzzServerSentEvents", ["AuditAPI", "AuditClient"]),
    ]
    // Declares libFuzzer's LLVMFuzzerRunDriver, which FuzzHarness's shared entry point calls.
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/FuzzSupport"))
    package.targets.append(.target(name: "FuzzHarness", dependencies: ["FuzzSupport"], path: "Fuzz/FuzzHarness", swiftSettings: fuzzFlags))
    for t in fuzzTargets {
        package.targets.append(.executableTarget(name: t.name, dependencies: ["FuzzHarness"] + t.dependencies, path: "Fuzz/\(t.name)",
                                                 swiftSettings: fuzzFlags))
        package.products.append(.executable(name: t.name, targets: [t.name]))
    }
}
