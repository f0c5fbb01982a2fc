import AuditModel
import Foundation
import Logging
import NIOCore
import NIOSSL

/// Where syslog alerts go: a receiver's address and whether to use TLS.
public struct SyslogReceiver: Sendable, Hashable, CustomStringConvertible {
    /// TCP with octet-counting framing (RFC 6587), or TLS (RFC 5425).
    public enum Transport: String, Sendable, CaseIterable {
        case tcp, tls
    }

    public var endpoint: AlertEndpoint
    public var transport: Transport

    public init(endpoint: AlertEndpoint, transport: Transport) {
        self.endpoint = endpoint
        self.transport = transport
    }

    /// Reads an address `host:port` (`[IPv6]:port`; without a port, 6514 for TLS as RFC 5425 assigns,
    /// 514 for TCP as receivers commonly listen) and a protocol `tcp` or `tls`.
    ///
    /// - Throws: ``AlertSendError`` (`.configuration`) saying which of the two is invalid.
    public init(address: String, protocol name: String) throws {
        guard let transport = Transport(rawValue: name.lowercased()) else {
            throw AlertSendError.configuration("the syslog protocol \"\(TextClip.scalars(name, 40, printable: true))\" is neither tcp nor tls")
        }
        self.transport = transport
        endpoint = try AlertEndpoint.parse(Substring(address), defaultPort: transport == .tls ? 6514 : 514, what: "the syslog address")
    }

    /// `tls://host:port`, `tcp://host:port`.
    public var description: String { "\(transport.rawValue)://\(endpoint)" }
}

/// Sends alerts to a syslog receiver as RFC 5424 messages over TCP or TLS (RFC 5425), one connection
/// per message: connect (and for TLS, a handshake that verifies the receiver's certificate and name),
/// write one octet-counted frame, close.
///
/// Success means the frame was written and flushed to the connection: syslog has no acknowledgement,
/// so a receiver that drops it after that is not seen. Each send is one attempt within `timeout`; the
/// caller retries with backoff.
public struct SyslogSender: Sendable {
    public let receiver: SyslogReceiver
    public let facility: SyslogFacility
    public let appName: String
    public let hostname: String
    public let timeout: Duration
    private let tls: NIOSSLContext?
    private let logger: Logger

    /// - Parameters:
    ///   - caCertificatePEM: for TLS, the certificates (PEM) that verify the receiver's; nil: the system's trust roots.
    ///   - appName: APP-NAME, 1-48 printable ASCII characters.
    ///   - hostname: HOSTNAME; nil: the machine's name (or `-` when it is not printable ASCII of at most 255).
    ///   - facility: ``SyslogFacility/local0`` unless an operator routes on another.
    ///   - timeout: the limit of one send: connecting, the TLS handshake, writing.
    /// - Throws: ``AlertSendError`` (`.configuration`) for an invalid APP-NAME or HOSTNAME, a CA file
    ///   without a certificate, or a timeout that is not positive.
    public init(receiver: SyslogReceiver, caCertificatePEM: [UInt8]? = nil, appName: String = "cloudaudit", hostname: String? = nil,
                facility: SyslogFacility = .local0, timeout: Duration = .seconds(10), logger: Logger) throws {
        do {
            _ = try SyslogMessage.headerField(appName, limit: 48, name: "APP-NAME")
            if let hostname { _ = try SyslogMessage.headerField(hostname, limit: 255, name: "HOSTNAME") }
        } catch let error as AlertSendError {
            throw AlertSendError.configuration(error.message)
        }
        guard timeout > .zero else { throw AlertSendError.configuration("the syslog timeout must be positive") }
        let what = "the syslog receiver at \(receiver.endpoint)"
        self.receiver = receiver
        self.facility = facility
        self.appName = appName
        self.hostname = hostname ?? Self.machineName()
        self.timeout = timeout
        self.tls = receiver.transport == .tls ? try AlertTransport.tlsContext(caCertificatePEM: caCertificatePEM, what: what) : nil
        self.logger = logger
    }

    /// Sends one message.
    ///
    /// - Parameters:
    ///   - msgId: MSGID, the kind of message (`ALERT`): 1-32 printable ASCII characters, or empty for `-`.
    ///   - structuredData: SD-ELEMENTs, each ID `name@<enterprise number>` (``SyslogStructuredElement``).
    ///   - message: free text, clipped to fit ``SyslogMessage/maximumLength``.
    /// - Throws: ``AlertSendError``: `.invalidMessage` before connecting (``SyslogMessage/framed(facility:severity:timestamp:hostname:appName:procId:msgId:structuredData:message:)``);
    ///   then `.connection`, `.timeout` or `.tls`. `CancellationError` when the task is cancelled.
    public func send(severity: AlertSeverity, msgId: String, structuredData: [SyslogStructuredElement] = [], message: String) async throws {
        let frame = try SyslogMessage.framed(facility: facility, severity: severity, timestamp: Date(), hostname: hostname, appName: appName,
                                             procId: String(ProcessInfo.processInfo.processIdentifier), msgId: msgId,
                                             structuredData: structuredData, message: message)
        let what = "the syslog receiver at \(receiver.endpoint)"
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let connection = try await AlertTransport.connect(to: receiver.endpoint, what: what, tls: tls, deadline: deadline, timeout: timeout) { _ in }
        let channel = connection.channel
        defer { channel.close(promise: nil) }
        try await withTaskCancellationHandler {
            var step = "the TLS handshake"
            do {
                try await connection.handshake?.bounded(by: deadline).get()
                step = "writing"
                try await channel.writeAndFlush(ByteBuffer(bytes: frame)).bounded(by: deadline).get()
            } catch is DeadlinePassed {
                throw AlertSendError(.timeout, "\(what) did not take the message within \(AlertTransport.describe(timeout)) (waiting on \(step))", permanent: false)
            } catch {
                if Task.isCancelled { throw CancellationError() }
                if step == "writing" {
                    throw AlertSendError(.connection, "could not write the message to \(what): \(error)", permanent: false)
                }
                throw AlertTransport.tlsFailure(error, what: what)
            }
        } onCancel: {
            channel.close(promise: nil)
        }
        logger.debug("syslog alert sent", metadata: ["syslog.receiver": "\(receiver)", "syslog.bytes": "\(frame.count)"])
    }

    /// The machine's name as a HOSTNAME, or the NILVALUE when it does not fit one.
    static func machineName() -> String {
        let name = ProcessInfo.processInfo.hostName
        return (try? SyslogMessage.headerField(name, limit: 255, name: "HOSTNAME")) ?? "-"
    }
}
