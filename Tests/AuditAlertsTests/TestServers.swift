import AuditAlerts
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import XCTest

/// A listening socket on 127.0.0.1 (a free port) whose connections get the handlers `initialize` adds;
/// the fakes of the SMTP server and the syslog receiver stand on it.
struct TestListener {
    let channel: Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    static func start(_ initialize: @escaping @Sendable (Channel) throws -> Void) async throws -> TestListener {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in channel.eventLoop.makeCompletedFuture { try initialize(channel) } }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestListener(channel: channel)
    }

    func stop() async {
        try? await channel.close()
    }

    /// A port where nothing listens (one just closed).
    static func closedPort() async throws -> Int {
        let listener = try await start { _ in }
        let port = listener.port
        await listener.stop()
        return port
    }
}

let testLogger = Logger(label: "cloudaudit.alerts.tests")

/// Waits (polling, at most `seconds`) until `condition` holds.
func eventually(_ seconds: Double = 5, _ condition: () -> Bool) async {
    let end = Date().addingTimeInterval(seconds)
    while !condition() && Date() < end {
        try? await Task.sleep(for: .milliseconds(10))
    }
}

/// A CA and server certificates made at run time with the `openssl` command (no private key is
/// committed); the tests that need them are skipped where `openssl` is not on PATH.
struct TestCertificates: Sendable {
    /// The CA certificate (PEM) that signed both server certificates.
    let caPEM: [UInt8]
    /// A server certificate for 127.0.0.1 and localhost.
    let server: NIOSSLContext
    /// A server certificate for other.test only (a host name mismatch at 127.0.0.1).
    let otherName: NIOSSLContext

    static func load() throws -> TestCertificates {
        switch made {
        case .success(let certificates): return certificates
        case .failure(let error): throw error
        }
    }

    private static let made: Result<TestCertificates, Error> = Result { try make() }

    private static func make() throws -> TestCertificates {
        guard let openssl = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .map({ "\($0)/openssl" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else {
            throw XCTSkip("openssl is not on PATH: the TLS tests need it to make a test certificate")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloudaudit-alerts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        func run(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: openssl)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw XCTSkip("openssl \(arguments.first ?? "") failed (\(process.terminationStatus))") }
        }
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try run(["req", "-x509"] + key + ["-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=CloudAudit Alerts Test CA",
                                          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"])
        func serverContext(_ name: String, altNames: String) throws -> NIOSSLContext {
            try run(["req"] + key + ["-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", "/CN=\(name)"])
            try "subjectAltName=\(altNames)\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n".write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
            try run(["x509", "-req", "-in", path("\(name).csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"), "-CAcreateserial",
                     "-out", path("\(name).pem"), "-days", "2", "-extfile", path("\(name).ext")])
            let chain = try NIOSSLCertificate.fromPEMFile(path("\(name).pem"))
            let privateKey = try NIOSSLPrivateKey(file: path("\(name).key"), format: .pem)
            return try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey)))
        }
        let server = try serverContext("localhost", altNames: "IP:127.0.0.1,DNS:localhost")
        let otherName = try serverContext("other.test", altNames: "DNS:other.test")
        let caPEM = Array(try Data(contentsOf: URL(fileURLWithPath: path("ca.pem"))))
        return TestCertificates(caPEM: caPEM, server: server, otherName: otherName)
    }
}

extension XCTestCase {
    /// The error `body` throws as an ``AlertSendError``; a failure when it throws nothing or something else.
    func refusal(_ body: () throws -> some Any, file: StaticString = #filePath, line: UInt = #line) -> AlertSendError? {
        expectAlertError(Result { _ = try body() }, file: file, line: line)
    }

    /// The error `body` throws as an ``AlertSendError``; a failure when it throws nothing or something else.
    func alertError<T>(_ body: () async throws -> T, file: StaticString = #filePath, line: UInt = #line) async -> AlertSendError? {
        do {
            _ = try await body()
            return expectAlertError(.success(()), file: file, line: line)
        } catch {
            return expectAlertError(.failure(error), file: file, line: line)
        }
    }

    private func expectAlertError(_ result: Result<Void, Error>, file: StaticString, line: UInt) -> AlertSendError? {
        switch result {
        case .success: XCTFail("expected an AlertSendError, got success", file: file, line: line)
        case .failure(let error as AlertSendError): return error
        case .failure(let error): XCTFail("expected an AlertSendError, got \(error)", file: file, line: line)
        }
        return nil
    }
}
