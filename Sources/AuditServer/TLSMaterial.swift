import AuditConfiguration
import Foundation
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The certificate chain and private key the server presents (`--tls-cert`, `--tls-key`), reloaded from
/// their files on SIGHUP without a restart: each new connection's handshake takes the pair current at
/// that moment (NIOSSL's context callback), connections already open keep theirs. A pair that does not
/// load (a missing file, a key that does not match the certificate, a key others may read) is refused
/// at start, and at a reload it is logged and the previous pair stays.
final class TLSMaterial: Sendable {
    let certificatePath: String
    let keyPath: String
    private let current: Mutex<(chain: [NIOSSLCertificate], key: NIOSSLPrivateKey)>

    init(certificate: String, key: String) throws {
        certificatePath = certificate
        keyPath = key
        current = Mutex(try Self.load(certificate: certificate, key: key))
    }

    /// The pair in the files, checked by building a server context with it.
    static func load(certificate: String, key: String) throws -> (chain: [NIOSSLCertificate], key: NIOSSLPrivateKey) {
        let chain: [NIOSSLCertificate]
        do {
            guard let pem = try LocalFile.read(certificate, limit: 1 << 20, what: "--tls-cert") else {
                throw ServerError("--tls-cert \(certificate) cannot be read")
            }
            chain = try NIOSSLCertificate.fromPEMBytes(pem)
        } catch let e as ServerError { throw e } catch {
            throw ServerError("--tls-cert \(certificate) holds no PEM certificate (\(error))")
        }
        guard !chain.isEmpty else { throw ServerError("--tls-cert \(certificate) holds no PEM certificate") }
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(bytes: try SecretFile.read(key, what: "--tls-key"), format: .pem)
        } catch let problem as SecretFile.Problem {
            throw ServerError(problem.description)
        } catch {
            throw ServerError("--tls-key \(key) holds no PEM private key")
        }
        do {
            _ = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey)))
        } catch {
            throw ServerError("--tls-key \(key) is not the private key of the certificate in --tls-cert \(certificate)")
        }
        return (chain, privateKey)
    }

    /// Loads the files again; on success, new connections present the new pair.
    func reload() throws {
        let pair = try Self.load(certificate: certificatePath, key: keyPath)
        current.withLock { $0 = pair }
    }

    /// The serving configuration: TLS 1.2 and 1.3, HTTP/1.1, the current pair for each handshake.
    func configuration() -> TLSConfiguration {
        let pair = current.withLock { $0 }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: pair.chain.map { .certificate($0) }, privateKey: .privateKey(pair.key))
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = ["http/1.1"]
        tls.sslContextCallback = { [self] _, promise in
            let now = current.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = now.chain.map { .certificate($0) }
            override.privateKey = .privateKey(now.key)
            promise.succeed(override)
        }
        return tls
    }
}

/// Reloads the TLS pair on each SIGHUP.
struct TLSReloadService: Service {
    let material: TLSMaterial
    let logger: Logger

    func run() async throws {
        for try await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            do {
                try material.reload()
                logger.notice("reloaded the TLS certificate and key", metadata: ["file.path": "\(material.certificatePath)"])
            } catch {
                logger.error("TLS reload failed; the previous certificate stays", metadata: ["error.message": "\(error)"])
            }
        }
    }
}
