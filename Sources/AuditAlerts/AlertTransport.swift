import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// Connecting, TLS and time limits, the same for every sender: one outgoing connection, TLS that
/// verifies the server's certificate and name, and operations bounded by the deadline of the exchange.
enum AlertTransport {
    /// A client TLS context: TLS 1.2 or later, the certificate verified against the certificates of
    /// `caCertificatePEM` (an operator's own CA) or else the system's trust roots, and the host name
    /// checked. Built once per sender: loading the roots is not free.
    ///
    /// - Parameter what: the server as messages name it ("the SMTP server at mail.example.com:587").
    /// - Throws: ``AlertSendError`` (`.configuration`) when the PEM holds no certificate.
    static func tlsContext(caCertificatePEM: [UInt8]?, what: String) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        // Closing waits this long for the server's close_notify: the alert is already written by then.
        configuration.shutdownTimeout = .seconds(1)
        if let pem = caCertificatePEM {
            let certificates = (try? NIOSSLCertificate.fromPEMBytes(pem)) ?? []
            guard !certificates.isEmpty else {
                throw AlertSendError.configuration("the CA certificate file for \(what) holds no PEM certificate")
            }
            configuration.trustRoots = .certificates(certificates)
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw AlertSendError.configuration("TLS for \(what) cannot be set up: \(error)")
        }
    }

    /// Adds TLS at the front of `channel`'s pipeline (on its event loop), and a watcher after it that
    /// completes `handshake` when the handshake does (or fails it, if TLS cannot be added). The
    /// certificate is checked against `endpoint`'s name, or its address when it is an IP address (then
    /// no server name is sent).
    static func addTLS(to channel: Channel, context: NIOSSLContext, endpoint: AlertEndpoint, handshake: EventLoopPromise<Void>) {
        do {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(TLSHandshakeWatcher(handshake), position: .first)
            try pipeline.addHandler(try NIOSSLClientHandler(context: context, serverHostname: endpoint.isIPAddress ? nil : endpoint.host), position: .first)
        } catch {
            handshake.fail(error)
        }
    }

    /// A failed TLS handshake with `what`, said for an operator: a certificate that does not verify, or
    /// does not name the host, is permanent (the configuration must change).
    static func tlsFailure(_ error: Error, what: String) -> AlertSendError {
        if (error as? NIOSSLExtraError) == .failedToValidateHostname {
            return AlertSendError(.tls, "the TLS certificate of \(what) is not for that host name or address", permanent: true)
        }
        if case ChannelError.eof = error {
            return AlertSendError(.tls, "\(what) closed the connection during the TLS handshake", permanent: false)
        }
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return AlertSendError(.tls, "the TLS certificate of \(what) does not verify against the configured CA certificate or the system's trust roots (\(text))", permanent: true)
        }
        return AlertSendError(.tls, "the TLS handshake with \(what) failed: \(text)", permanent: false)
    }

    /// A connection to `endpoint` made before `deadline`: TLS at the front of its pipeline when `tls`
    /// is given (with the handshake's future), then the handlers `initialize` adds (run on the channel's
    /// event loop), and what it returns, bound to that loop.
    ///
    /// When a name has several addresses, a channel is set up for each one tried; what is returned is
    /// the set-up of the channel that connected, kept apart from the others' (a failed attempt closes
    /// its own channel and fails its own handshake).
    ///
    /// - Throws: ``AlertSendError``: `.timeout` when no connection was made in time, `.connection`
    ///   with what failed for each address tried (no such host, connection refused...).
    static func connect<Extra>(to endpoint: AlertEndpoint, what: String, tls: NIOSSLContext?, deadline: NIODeadline, timeout: Duration,
                               initialize: @escaping @Sendable (Channel) throws -> Extra) async throws -> AlertConnection<Extra> {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let attempts = NIOLoopBoundBox.makeEmptyBox(valueType: [ObjectIdentifier: (EventLoopFuture<Void>?, Extra)].self, eventLoop: eventLoop)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(max(deadline - .now(), .milliseconds(1)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    var handshake: EventLoopFuture<Void>?
                    if let tls {
                        let promise = channel.eventLoop.makePromise(of: Void.self)
                        addTLS(to: channel, context: tls, endpoint: endpoint, handshake: promise)
                        handshake = promise.futureResult
                    }
                    let extra = try initialize(channel)
                    var all = attempts.value ?? [:]
                    all[ObjectIdentifier(channel)] = (handshake, extra)
                    attempts.value = all
                }
            }
        let channel: Channel
        do {
            channel = try await bootstrap.connect(host: endpoint.host, port: endpoint.port).get()
        } catch ChannelError.connectTimeout {
            throw AlertSendError(.timeout, "could not connect to \(what) within \(describe(timeout))", permanent: false)
        } catch {
            throw AlertSendError(.connection, "could not connect to \(what): \(describeConnectFailure(error))", permanent: false)
        }
        return try await eventLoop.submit {
            guard let (handshake, extra) = attempts.value?[ObjectIdentifier(channel)] else { throw ChannelError.inappropriateOperationForState }
            return AlertConnection(channel: channel, handshake: handshake, extra: NIOLoopBound(extra, eventLoop: eventLoop))
        }.get()
    }

    /// Why a connection could not be made, in words (NIO's own text names its internals).
    static func describeConnectFailure(_ error: Error) -> String {
        guard let failure = error as? NIOConnectionError else { return "\(error)" }
        if failure.connectionErrors.isEmpty {
            return failure.dnsAError == nil && failure.dnsAAAAError == nil ? "no address to connect to" : "no such host (the name did not resolve)"
        }
        return failure.connectionErrors.map { attempt in
            let why = (attempt.error as? IOError).map { String(cString: strerror($0.errnoCode)).lowercased() } ?? "\(attempt.error)"
            return "\(attempt.target): \(why)"
        }.joined(separator: "; ")
    }

    /// `30 s`, `0.5 s`: a timeout in messages.
    static func describe(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return "\(seconds) s" }
        return "\(Double(seconds) + Double(attoseconds) / 1e18) s"
    }
}

/// A connected channel, its TLS handshake (when it has TLS from the start), and what its set-up made.
struct AlertConnection<Extra>: Sendable {
    let channel: Channel
    let handshake: EventLoopFuture<Void>?
    let extra: NIOLoopBound<Extra>
}

/// The exchange's deadline came before what was awaited.
struct DeadlinePassed: Error {}

extension EventLoopFuture where Value: Sendable {
    /// This future's result, or a failure with ``DeadlinePassed`` when `deadline` comes first. What was
    /// awaited is not stopped: the caller closes the channel.
    func bounded(by deadline: NIODeadline) -> EventLoopFuture<Value> {
        let promise = eventLoop.makePromise(of: Value.self)
        let timer = eventLoop.scheduleTask(deadline: deadline) { promise.fail(DeadlinePassed()) }
        whenComplete { result in
            timer.cancel()
            promise.completeWith(result)
        }
        return promise.futureResult
    }
}

/// Completes its promise when the TLS handshake ends: success on `handshakeCompleted`, failure with the
/// first error (certificate, name, protocol), or when the connection closes first. Everything passes on.
final class TLSHandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let promise: EventLoopPromise<Void>
    /// Completes when the handshake does.
    var handshake: EventLoopFuture<Void> { promise.futureResult }

    init(_ promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { promise.succeed(()) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.eof)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        promise.fail(ChannelError.ioOnClosedChannel)
    }
}
