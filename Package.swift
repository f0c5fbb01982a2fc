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
    ],
    targets: [
        // Event record, lookup attributes, validation, JSON parsing. Foundation only.
        .target(name: "AuditModel"),
        // TC3-HMAC-SHA256 (one signer for server and clients), credentials, secrets sealed at rest.
        .target(name: "AuditAuth", dependencies: [
            "AuditModel", .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
        ]),
        // RFC 6962 Merkle log, proofs, signed checkpoints and digests, envelope encryption.
        .target(name: "AuditIntegrity", dependencies: ["AuditModel", .product(name: "Crypto", package: "swift-crypto")]),
        // The EventStore protocol, its errors and an in-memory store.
        .target(name: "AuditStore", dependencies: ["AuditModel", "AuditIntegrity"]),
        // The store conformance suite that every backend runs (XCTest helpers).
        .target(name: "AuditStoreConformance", dependencies: ["AuditStore", "AuditIntegrity"], path: "Tests/AuditStoreConformance"),
        // The embedded default backend.
        .target(name: "AuditStoreSQLite", dependencies: [
            "AuditStore", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),
        // Tracking-set delivery: file format, gzip, object stores (folder, S3/COS with SigV4), webhooks.
        .target(name: "AuditDelivery", dependencies: [
            "AuditStore", "AuditModel", "AuditIntegrity",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CompressNIO", package: "compress-nio"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // API 3.0 actions, TC3 auth, errors, self-audit.
        .target(name: "AuditAPI", dependencies: [
            "AuditStore", "AuditModel", "AuditAuth", "AuditIntegrity",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The web console: its page (HTML, CSS and JavaScript files in Resources/, embedded in the
        // binary as byte arrays: ConsoleAssets), sign-in, sessions, CSRF, export, on the API's actions.
        .target(name: "AuditConsole", dependencies: [
            "AuditAPI", "AuditStore", "AuditModel", "AuditAuth", "AuditDelivery",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ], resources: [.embedInCode("Resources")]),
        // Signed API client used by the CLI (and by producers).
        .target(name: "AuditClient", dependencies: [
            "AuditModel", "AuditAuth",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        // Composition root: config -> store, services -> ServiceGroup.
        .target(name: "AuditServer", dependencies: [
            "AuditAPI", "AuditConsole", "AuditStore", "AuditStoreSQLite", "AuditAuth", "AuditDelivery",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "cloudaudit", dependencies: [
            "AuditServer", "AuditClient", "AuditModel", "AuditStore", "AuditDelivery", "AuditIntegrity",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "AuditModelTests", dependencies: ["AuditModel"]),
        .testTarget(name: "AuditIntegrityTests", dependencies: ["AuditIntegrity", "AuditModel", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "AuditAuthTests", dependencies: ["AuditAuth"]),
        .testTarget(name: "AuditStoreTests", dependencies: ["AuditStore", "AuditStoreConformance"]),
        .testTarget(name: "AuditStoreSQLiteTests", dependencies: ["AuditStoreSQLite", "AuditStoreConformance"]),
        .testTarget(name: "AuditDeliveryTests", dependencies: [
            "AuditDelivery", "AuditStore", "AuditModel", "AuditIntegrity",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"), .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "AuditAPITests", dependencies: [
            "AuditAPI", "AuditConsole", "AuditServer", "AuditStore", "AuditAuth", "AuditDelivery", "AuditIntegrity",
            .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
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
        ("FuzzAuthorization", ["AuditAPI", "AuditAuth", "AuditModel"]),
        ("FuzzNextToken", ["AuditAPI", "AuditStore", "AuditModel"]),
        ("FuzzSignedNote", ["AuditIntegrity", "AuditModel"]),
        ("FuzzMerkleProof", ["AuditIntegrity"]),
    ]
    // Declares libFuzzer's LLVMFuzzerRunDriver, which each target's main calls.
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/FuzzSupport"))
    for t in fuzzTargets {
        package.targets.append(.executableTarget(name: t.name, dependencies: ["FuzzSupport"] + t.dependencies, path: "Fuzz/\(t.name)",
                                                 swiftSettings: fuzzFlags))
        package.products.append(.executable(name: t.name, targets: [t.name]))
    }
}
