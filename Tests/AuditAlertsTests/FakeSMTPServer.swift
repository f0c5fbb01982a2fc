import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// An SMTP server for the tests only: it answers as its ``Script`` says (well, badly, or not at all)
/// and records what the client sent.
final class FakeSMTPServer: Sendable {
    struct Script: Sendable {
        enum Opening: Sendable {
            case greeting(String)
            /// Accept the connection and never say anything.
            case silence
            /// These bytes instead of a greeting.
            case raw([UInt8])
        }

        var opening = Opening.greeting("220 fake.test ESMTP ready")
        var refuseEHLO = false
        /// Continuation lines in the EHLO reply beyond the usual ones (a server that never stops).
        var extraEHLOLines = 0
        /// Offer STARTTLS (until it is done) and take it with this context.
        var startTLS: NIOSSLContext?
        /// TLS from the first byte (smtps).
        var implicitTLS: NIOSSLContext?
        /// What the 220 to STARTTLS says; more lines after it are sent before the handshake.
        var startTLSReply = "220 2.0.0 Ready to start TLS"
        var authMechanisms: [String] = []
        /// The reply to the final AUTH step; `{token}` is replaced by the last line the client sent.
        var authReply = "235 2.7.0 Authentication successful"
        var rejectRecipient: String?
        var closeAfterMailFrom = false
        var dataReply = "250 2.0.0 Ok: queued as FAKE123"
    }

    struct Recording: Sendable {
        /// Each line the client sent outside DATA.
        var commands: [String] = []
        /// The lines of the message as sent (dot-stuffed), without the final dot.
        var data: [String] = []
        /// Whether TLS was on when MAIL FROM came.
        var tlsAtMailFrom: Bool?
    }

    let script: Script
    private let recorded = Mutex(Recording())
    private let listener: TestListener

    var port: Int { listener.port }
    var recording: Recording { recorded.withLock { $0 } }

    private init(script: Script, listener: TestListener) {
        self.script = script
        self.listener = listener
    }

    static func start(_ script: Script) async throws -> FakeSMTPServer {
        let box = Mutex<FakeSMTPServer?>(nil)
        let listener = try await TestListener.start { channel in
            guard let server = box.withLock({ $0 }) else { return }
            if let tls = script.implicitTLS { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
            try channel.pipeline.syncOperations.addHandler(FakeSMTPHandler(server: server))
        }
        let server = FakeSMTPServer(script: script, listener: listener)
        box.withLock { $0 = server }
        return server
    }

    func stop() async { await listener.stop() }

    func record(_ change: (inout Recording) -> Void) { recorded.withLock { change(&$0) } }
}

/// One connection of the fake server: lines in, scripted replies out.
private final class FakeSMTPHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let server: FakeSMTPServer
    var script: FakeSMTPServer.Script { server.script }
    var buffer: [UInt8] = []
    var inData = false
    var tlsActive: Bool
    var loginStep = 0

    init(server: FakeSMTPServer) {
        self.server = server
        tlsActive = server.script.implicitTLS != nil
    }

    func channelActive(context: ChannelHandlerContext) {
        switch script.opening {
        case .greeting(let text): say(text, context)
        case .silence: break
        case .raw(let bytes): context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        buffer += unwrapInboundIn(data).readableBytesView
        while let end = buffer.firstIndex(of: UInt8(ascii: "\n")) {
            var line = Array(buffer[..<end])
            buffer.removeSubrange(...end)
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            handle(String(decoding: line, as: UTF8.self), context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func say(_ text: String, _ context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text + "\r\n")), promise: nil)
    }

    private func handle(_ line: String, _ context: ChannelHandlerContext) {
        if inData {
            if line == "." {
                inData = false
                say(script.dataReply, context)
            } else {
                server.record { $0.data.append(line) }
            }
            return
        }
        server.record { $0.commands.append(line) }
        if loginStep == 1 {
            loginStep = 2
            return say("334 UGFzc3dvcmQ6", context)
        }
        if loginStep == 2 {
            loginStep = 0
            return say(script.authReply.replacingOccurrences(of: "{token}", with: line), context)
        }
        let verb = line.split(separator: " ").first.map { $0.uppercased() } ?? ""
        switch verb {
        case "EHLO":
            if script.refuseEHLO { return say("502 5.5.2 Error: command not recognized", context) }
            var lines = ["fake.test"] + Array(repeating: "PIPELINING", count: script.extraEHLOLines)
            if script.startTLS != nil && !tlsActive { lines.append("STARTTLS") }
            if !script.authMechanisms.isEmpty { lines.append("AUTH " + script.authMechanisms.joined(separator: " ")) }
            lines.append("8BITMIME")
            say(lines.enumerated().map { "250" + ($0.offset == lines.count - 1 ? " " : "-") + $0.element }.joined(separator: "\r\n"), context)
        case "HELO":
            say("250 fake.test", context)
        case "STARTTLS":
            guard let tls = script.startTLS, !tlsActive else { return say("454 4.7.0 TLS not available", context) }
            say(script.startTLSReply, context)
            tlsActive = true
            try? context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
        case "AUTH":
            if line.uppercased().hasPrefix("AUTH LOGIN") {
                loginStep = 1
                return say("334 VXNlcm5hbWU6", context)
            }
            say(script.authReply.replacingOccurrences(of: "{token}", with: String(line.dropFirst("AUTH PLAIN ".count))), context)
        case "MAIL":
            server.record { $0.tlsAtMailFrom = tlsActive }
            if script.closeAfterMailFrom { return context.close(promise: nil) }
            say("250 2.1.0 Ok", context)
        case "RCPT":
            if let rejected = script.rejectRecipient, line.contains("<\(rejected)>") {
                return say("550 5.1.1 <\(rejected)>: Recipient address rejected: User unknown in local recipient table", context)
            }
            say("250 2.1.5 Ok", context)
        case "DATA":
            inData = true
            say("354 End data with <CR><LF>.<CR><LF>", context)
        case "QUIT":
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "221 2.0.0 Bye\r\n"))).whenComplete { _ in context.close(promise: nil) }
        default:
            say("502 5.5.2 Error: command not recognized", context)
        }
    }
}
