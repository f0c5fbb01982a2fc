import AuditModel
import Foundation
import Logging
import NIOCore
import NIOSSL

/// Sends alert emails through one SMTP server (RFC 5321), one message per call.
///
/// Each ``send(to:subject:body:headers:)`` is one attempt on a new connection: the greeting, EHLO (HELO
/// when the server refuses EHLO), STARTTLS whenever the server offers it (then EHLO again over TLS),
/// AUTH when a user is configured, MAIL FROM, RCPT TO for each recipient, DATA, the message, QUIT. The
/// caller keeps the alert and retries with backoff; ``AlertSendError/isPermanent`` says when a retry
/// cannot help.
///
/// TLS verifies the server's certificate (against the configured CA, else the system's roots) and its
/// host name. Credentials are never sent over a connection that is not encrypted: with a user
/// configured, a server that offers no STARTTLS (on `smtp://`) is an error, not a fallback.
///
/// Every part of the exchange is bounded: the whole of it by `timeout`, each reply line and reply by
/// ``SMTPReplyReader``'s limits. Nothing a server sends can trap, and no error or log line holds the
/// password, even if the server echoes it.
public struct SMTPSender: Sendable {
    public let server: SMTPServer
    /// The envelope sender and `From:` address.
    public let from: String
    public let timeout: Duration
    private let password: [UInt8]?
    private let tls: NIOSSLContext
    private let heloName: String?
    private let logger: Logger

    /// - Parameters:
    ///   - server: the server and the user to authenticate as (``SMTPServer/init(url:)``).
    ///   - from: the sender address (`--smtp-from`), checked like every address (``SMTPMessage/isValidAddress(_:)``).
    ///   - password: the user's password, given apart from the URL (a secret file's bytes); only with a user.
    ///   - caCertificatePEM: the certificates (PEM) that verify the server's; nil: the system's trust roots.
    ///   - timeout: the limit of one whole exchange, from connecting to the reply to the message.
    ///   - heloName: the name this client gives in EHLO; nil: the machine's name when it is a domain
    ///     name, else its address on the connection (`[192.0.2.1]`).
    /// - Throws: ``AlertSendError`` (`.configuration`) for an invalid sender address, a password without
    ///   a user, a password with a NUL byte, a CA file without a certificate, or a timeout that is not positive.
    public init(server: SMTPServer, from: String, password: [UInt8]? = nil, caCertificatePEM: [UInt8]? = nil,
                timeout: Duration = .seconds(30), heloName: String? = nil, logger: Logger) throws {
        guard SMTPMessage.isValidAddress(from) else {
            throw AlertSendError.configuration("the SMTP sender address " + SMTPMessage.invalidAddressMessage(from))
        }
        if password != nil && server.username == nil {
            throw AlertSendError.configuration("a password is configured for the SMTP server at \(server.endpoint) but its URL names no user (smtp://user@host)")
        }
        guard password?.contains(0) != true else {
            throw AlertSendError.configuration("the SMTP password holds a NUL byte, which AUTH PLAIN cannot carry")
        }
        guard timeout > .zero else { throw AlertSendError.configuration("the SMTP timeout must be positive") }
        if let heloName, !AlertEndpoint.isHostName(Substring(heloName)) {
            throw AlertSendError.configuration("the EHLO name \"\(TextClip.scalars(heloName, 80, printable: true))\" is not a domain name")
        }
        self.server = server
        self.from = from
        self.password = password
        self.tls = try AlertTransport.tlsContext(caCertificatePEM: caCertificatePEM, what: "the SMTP server at \(server.endpoint)")
        self.timeout = timeout
        self.heloName = heloName ?? Self.machineDomainName()
        self.logger = logger
    }

    /// Sends one message to `recipients`.
    ///
    /// - Parameters:
    ///   - subject: any text; encoded (RFC 2047) when it is not plain ASCII, control characters made spaces.
    ///   - body: plain text, sent as UTF-8 quoted-printable.
    ///   - headers: more header fields (`X-CloudAudit-Alert-Id`), in this order; names are checked,
    ///     values treated like the subject.
    /// - Returns: the server's reply to the message (`250 2.0.0 Ok: queued as 4A1B2C`).
    /// - Throws: ``AlertSendError``: `.invalidMessage` before connecting (addresses, headers); then
    ///   `.connection`, `.timeout`, `.tls`, `.refused` (naming the refused step or recipient, with the
    ///   server's reply) or `.protocolViolation`. `CancellationError` when the task is cancelled.
    public func send(to recipients: [String], subject: String, body: String, headers: [(String, String)] = []) async throws -> SMTPReceipt {
        let now = Date().timeIntervalSince1970
        let domain = from.split(separator: "@").last.map(String.init) ?? "localhost"
        let message = try SMTPMessage(from: from, to: recipients, subject: subject, body: body, headers: headers,
                                      date: Int64(now.rounded(.down)), messageID: Self.newMessageID(domain: domain)).rendered()
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        // smtps: TLS from the first byte, so the server's greeting comes through it.
        let connection = try await AlertTransport.connect(to: server.endpoint, what: serverName, tls: server.implicitTLS ? tls : nil,
                                                          deadline: deadline, timeout: timeout) { channel in
            let reader = SMTPReplyReader()
            try channel.pipeline.syncOperations.addHandler(reader)
            return reader
        }
        let channel = connection.channel
        defer { channel.close(promise: nil) }
        let session = SMTPSession(channel: channel, reader: connection.extra, deadline: deadline)
        return try await withTaskCancellationHandler {
            try await converse(session, handshake: connection.handshake, recipients: recipients, message: message)
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// `the SMTP server at host:port`, as messages name it.
    private var serverName: String { "the SMTP server at \(server.endpoint)" }

    /// The conversation on a connection, after the implicit TLS `handshake` when there is one.
    private func converse(_ session: SMTPSession, handshake: EventLoopFuture<Void>?, recipients: [String], message: [UInt8]) async throws -> SMTPReceipt {
        var step = "the greeting"
        var encrypted = false
        do {
            if let handshake {
                step = "the TLS handshake"
                try await handshake.bounded(by: session.deadline).get()
                encrypted = true
                step = "the greeting"
            }
            let greeting = try await session.reply()
            guard greeting.code == 220 else { throw refusal(greeting, "the connection") }
            var capabilities = try await hello(session, step: &step)
            if !encrypted && capabilities.startTLS {
                step = "STARTTLS"
                let reply = try await session.command("STARTTLS")
                guard reply.code == 220 else { throw refusal(reply, "STARTTLS") }
                step = "the TLS handshake"
                try await session.startTLS(context: tls, endpoint: server.endpoint)
                encrypted = true
                capabilities = try await hello(session, step: &step)
            }
            if let username = server.username {
                guard encrypted else {
                    throw AlertSendError(.tls, "\(serverName) does not offer STARTTLS and a password is configured: credentials are never sent unencrypted (use smtps://, or a server or port that offers STARTTLS)", permanent: true)
                }
                step = "AUTH"
                try await authenticate(session, username: username, capabilities: capabilities)
            }
            step = "MAIL FROM"
            let mail = try await session.command("MAIL FROM:<\(from)>")
            guard mail.code == 250 else { throw refusal(mail, "the sender \(from)") }
            for recipient in recipients {
                step = "RCPT TO:<\(recipient)>"
                let reply = try await session.command("RCPT TO:<\(recipient)>")
                guard reply.code == 250 || reply.code == 251 else { throw refusal(reply, "recipient \(recipient)") }
            }
            step = "DATA"
            let data = try await session.command("DATA")
            guard data.code == 354 else { throw refusal(data, "DATA") }
            step = "the message"
            session.write(SMTPMessage.dotStuffed(message))
            let accepted = try await session.reply()
            guard accepted.code == 250 else { throw refusal(accepted, "the message") }
            let receipt = SMTPReceipt(code: accepted.code, text: redacted(accepted.lines.joined(separator: " ")))
            await session.quit()
            logger.debug("alert email accepted", metadata: ["smtp.server": "\(server.endpoint)", "smtp.reply": "\(receipt)"])
            return receipt
        } catch let error as AlertSendError {
            throw error
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw explain(error, step: step)
        }
    }

    /// EHLO, or HELO when the server refuses EHLO (a 5xx): the extensions offered (none after HELO).
    private func hello(_ session: SMTPSession, step: inout String) async throws -> SMTPCapabilities {
        let name = heloName ?? Self.addressLiteral(session.channel.localAddress)
        step = "EHLO"
        let ehlo = try await session.command("EHLO \(name)")
        if ehlo.code == 250 { return SMTPCapabilities(ehlo) }
        guard (500...599).contains(ehlo.code) else { throw refusal(ehlo, "EHLO") }
        step = "HELO"
        let helo = try await session.command("HELO \(name)")
        guard helo.code == 250 else { throw refusal(helo, "HELO") }
        return SMTPCapabilities()
    }

    /// AUTH PLAIN with the initial response, or AUTH LOGIN when only LOGIN is offered (RFC 4954).
    private func authenticate(_ session: SMTPSession, username: String, capabilities: SMTPCapabilities) async throws {
        let user = Array(username.utf8)
        let password = self.password ?? []
        let accepted: SMTPReply
        if capabilities.authMechanisms.contains("PLAIN") {
            accepted = try await session.command("AUTH PLAIN " + base64([0] + user + [0] + password))
        } else if capabilities.authMechanisms.contains("LOGIN") {
            let start = try await session.command("AUTH LOGIN")
            guard start.code == 334 else { throw refusal(start, "AUTH LOGIN") }
            let afterUser = try await session.command(base64(user))
            guard afterUser.code == 334 else { throw refusal(afterUser, "the user \(username)") }
            accepted = try await session.command(base64(password))
        } else {
            let offered = capabilities.authMechanisms.isEmpty ? "none" : capabilities.authMechanisms.sorted().joined(separator: ", ")
            throw AlertSendError(.configuration, "\(serverName) offers no authentication this sender supports (PLAIN or LOGIN; it offers \(offered)); remove the user from the SMTP URL if the server needs none", permanent: true)
        }
        guard accepted.code == 235 else { throw refusal(accepted, "the credentials of user \(username)") }
    }

    /// `the SMTP server at h:p refused <what>: 550 ...`; permanent for a 5xx reply.
    private func refusal(_ reply: SMTPReply, _ what: String) -> AlertSendError {
        AlertSendError(.refused, "\(serverName) refused \(what): \(redacted(reply.description))", permanent: reply.code >= 500)
    }

    /// A failure while reading replies or setting up TLS, said for the step it interrupted.
    private func explain(_ error: Error, step: String) -> AlertSendError {
        switch error {
        case is DeadlinePassed:
            return AlertSendError(.timeout, "\(serverName) did not complete the exchange within \(AlertTransport.describe(timeout)) (waiting on \(step))", permanent: false)
        case let failure as SMTPReadFailure:
            switch failure {
            case .closed:
                return AlertSendError(.protocolViolation, "\(serverName) closed the connection during \(step)", permanent: false)
            case .lineTooLong:
                return AlertSendError(.protocolViolation, "\(serverName) sent a reply line longer than \(SMTPReplyReader.maximumLineBytes) bytes (during \(step))", permanent: true)
            case .tooManyLines:
                return AlertSendError(.protocolViolation, "\(serverName) sent a reply of more than \(SMTPReplyReader.maximumReplyLines) lines (during \(step))", permanent: true)
            case .notAReply(let line):
                return AlertSendError(.protocolViolation, "\(serverName) sent something that is not an SMTP reply during \(step): \"\(TextClip.scalars(redacted(line), 120))\"; is it an SMTP server (smtps:// for a TLS port)?", permanent: true)
            case .unsolicited:
                return AlertSendError(.protocolViolation, "\(serverName) sent replies nobody asked for (during \(step))", permanent: true)
            case .transport(let description):
                return AlertSendError(.connection, "the connection to \(serverName) failed during \(step): \(description)", permanent: false)
            }
        case is SMTPSession.PlaintextAfterSTARTTLS:
            return AlertSendError(.tls, "\(serverName) sent more data right after its reply to STARTTLS, before the TLS handshake (someone may be tampering with the connection)", permanent: false)
        default:
            return AlertTransport.tlsFailure(error, what: serverName)
        }
    }

    /// `text` with the password and the forms it travels in (base64 alone, and in AUTH PLAIN's
    /// response) cut out: a hostile server could echo them back in a reply.
    private func redacted(_ text: String) -> String {
        guard let password, !password.isEmpty, let username = server.username else { return text }
        var out = text
        for secret in [base64([0] + Array(username.utf8) + [0] + password), base64(password), String(decoding: password, as: UTF8.self)] {
            out = out.replacingOccurrences(of: secret, with: "<redacted>")
        }
        return out
    }

    private func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    /// A Message-ID's inside: 128 random bits in hex, `@`, the sender's domain.
    static func newMessageID(domain: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return random.hexString + "@" + domain
    }

    /// The machine's name when it is a domain name with a dot (EHLO asks for a fully qualified one).
    static func machineDomainName() -> String? {
        let name = ProcessInfo.processInfo.hostName
        return name.contains(".") && AlertEndpoint.isHostName(Substring(name)) ? name : nil
    }

    /// `[192.0.2.1]` or `[IPv6:2001:db8::1]` (RFC 5321 4.1.3), the EHLO name of a machine without one.
    static func addressLiteral(_ address: SocketAddress?) -> String {
        switch address {
        case .v4(let a)?: return "[\(a.host)]"
        case .v6(let a)?: return "[IPv6:\(a.host)]"
        default: return "[127.0.0.1]"
        }
    }
}

/// The server's reply to a sent message: it has taken responsibility for delivering it.
public struct SMTPReceipt: Sendable, Equatable, CustomStringConvertible {
    /// 250.
    public var code: Int
    /// The reply's text (`2.0.0 Ok: queued as 4A1B2C`): often the server's queue id, worth logging.
    public var text: String

    public init(code: Int, text: String) {
        self.code = code
        self.text = text
    }

    /// `250 2.0.0 Ok: queued as 4A1B2C`.
    public var description: String { text.isEmpty ? "\(code)" : "\(code) \(text)" }
}

/// The extensions an EHLO reply offers that this sender uses.
struct SMTPCapabilities {
    var startTLS = false
    /// Upper-case mechanism names (`PLAIN`, `LOGIN`), from `AUTH ...` and the older `AUTH=...` lines.
    var authMechanisms: Set<String> = []

    init() {}

    init(_ ehlo: SMTPReply) {
        for line in ehlo.lines.dropFirst() {
            let words = line.uppercased().split(whereSeparator: { $0 == " " || $0 == "=" })
            guard let keyword = words.first else { continue }
            if keyword == "STARTTLS" { startTLS = true }
            if keyword == "AUTH" { authMechanisms.formUnion(words.dropFirst().prefix(32).map { String($0.prefix(40)) }) }
        }
    }
}

/// One connection's commands and replies, each bounded by the exchange's deadline.
struct SMTPSession: Sendable {
    /// The server said more after its 220 to STARTTLS, before the handshake.
    struct PlaintextAfterSTARTTLS: Error {}

    let channel: Channel
    let reader: NIOLoopBound<SMTPReplyReader>
    let deadline: NIODeadline

    /// The next reply, read before `deadline` (the exchange's when nil).
    func reply(before deadline: NIODeadline? = nil) async throws -> SMTPReply {
        try await channel.eventLoop.flatSubmit { [reader, channel] in reader.value.nextReply(on: channel.eventLoop) }
            .bounded(by: deadline ?? self.deadline).get()
    }

    /// Writes `line` and CRLF, then reads the reply.
    func command(_ line: String) async throws -> SMTPReply {
        write(Array((line + "\r\n").utf8))
        return try await reply()
    }

    /// Writes without waiting: a failed write closes the connection, which the next reply read reports.
    func write(_ bytes: [UInt8]) {
        channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
    }

    /// TLS from here on (after the 220 to STARTTLS), once the handshake has verified the server.
    ///
    /// - Throws: ``PlaintextAfterSTARTTLS`` when the server sent anything not yet read; the handshake's
    ///   error; ``DeadlinePassed``.
    func startTLS(context: NIOSSLContext, endpoint: AlertEndpoint) async throws {
        try await channel.eventLoop.flatSubmit { [reader, channel] () -> EventLoopFuture<Void> in
            guard !reader.value.hasUnreadInput else { return channel.eventLoop.makeFailedFuture(PlaintextAfterSTARTTLS()) }
            let handshake = channel.eventLoop.makePromise(of: Void.self)
            AlertTransport.addTLS(to: channel, context: context, endpoint: endpoint, handshake: handshake)
            return handshake.futureResult
        }.bounded(by: deadline).get()
    }

    /// QUIT, waiting at most two seconds for the 221 (the message is already accepted; errors do not matter).
    func quit() async {
        write(Array("QUIT\r\n".utf8))
        _ = try? await reply(before: min(deadline, .now() + .seconds(2)))
    }
}
