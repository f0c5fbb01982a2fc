import AuditModel
import NIOCore

/// One SMTP reply (RFC 5321 4.2): its three-digit code and the text of each of its lines.
struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    var code: Int
    /// Each line's text after the code and its separator, control characters dropped.
    var lines: [String]

    /// `250 2.0.0 Ok: queued as 4A1B2C`, the lines of a multi-line reply joined by spaces.
    var description: String { ([String(code)] + lines.filter { !$0.isEmpty }).joined(separator: " ") }
}

/// How reading a server's replies failed. The sender turns it into an ``AlertSendError`` that names the
/// server and the step.
enum SMTPReadFailure: Error, Equatable {
    /// The server closed the connection (or it was closed) before the reply was complete.
    case closed
    /// A line longer than ``SMTPReplyReader/maximumLineBytes``.
    case lineTooLong
    /// A multi-line reply of more than ``SMTPReplyReader/maximumReplyLines`` lines.
    case tooManyLines
    /// A line that is not `CODE[ -]text`, or a continuation with another code; the line, clipped.
    case notAReply(String)
    /// Replies nobody asked for piled up (this client never pipelines).
    case unsolicited
    /// The connection failed (a TLS or socket error), described.
    case transport(String)
}

/// Reads a server's byte stream as SMTP replies, holding every part of it to a bound: a line to
/// ``maximumLineBytes``, a reply to ``maximumReplyLines``, the replies read ahead to
/// ``maximumQueuedReplies``. Anything else is a ``SMTPReadFailure`` that closes the connection; no input
/// traps. Lines end in CRLF (a bare LF is taken too).
///
/// Used on its channel's event loop only (the sender holds it through `NIOLoopBound`).
final class SMTPReplyReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    /// RFC 5321 allows 512 octets a reply line; servers that say more than eight times that are broken.
    static let maximumLineBytes = 4096
    static let maximumReplyLines = 100
    static let maximumQueuedReplies = 4

    private var line: [UInt8] = []
    private var replyLines: [String] = []
    private var replyCode: Int?
    private var queued = CircularBuffer<SMTPReply>()
    private var failure: SMTPReadFailure?
    private var waiting: EventLoopPromise<SMTPReply>?

    /// Whether bytes arrived that no reply read has taken. After the 220 to STARTTLS the server must
    /// send nothing until the handshake: plaintext sent then would be read as if it came over TLS.
    var hasUnreadInput: Bool { !line.isEmpty || !replyLines.isEmpty || !queued.isEmpty }

    /// The next reply: one already read, or the one that comes next; failed once reading has failed.
    func nextReply(on eventLoop: EventLoop) -> EventLoopFuture<SMTPReply> {
        if let reply = queued.popFirst() { return eventLoop.makeSucceededFuture(reply) }
        if let failure { return eventLoop.makeFailedFuture(failure) }
        waiting?.fail(SMTPReadFailure.unsolicited)
        let promise = eventLoop.makePromise(of: SMTPReply.self)
        waiting = promise
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        for byte in bytes.readableBytesView {
            guard failure == nil else { return }
            if byte == UInt8(ascii: "\n") {
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                take(line, context: context)
                line.removeAll(keepingCapacity: true)
            } else if line.count == Self.maximumLineBytes {
                fail(.lineTooLong, context: context)
            } else {
                line.append(byte)
            }
        }
    }

    /// One complete line: `CODE text` ends a reply, `CODE-text` continues it; the code is 2xx to 5xx
    /// and the same on every line of a reply.
    private func take(_ line: [UInt8], context: ChannelHandlerContext) {
        let digits = line.prefix(3)
        guard digits.count == 3, digits.allSatisfy({ (0x30...0x39).contains($0) }), (0x32...0x35).contains(digits[digits.startIndex]) else {
            return fail(.notAReply(Self.printable(line)), context: context)
        }
        let code = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        let separator: UInt8? = line.count > 3 ? line[3] : nil
        guard separator == nil || separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-"), replyCode == nil || replyCode == code else {
            return fail(.notAReply(Self.printable(line)), context: context)
        }
        replyCode = code
        replyLines.append(Self.printable(line.dropFirst(4)))
        guard replyLines.count <= Self.maximumReplyLines else { return fail(.tooManyLines, context: context) }
        guard separator != UInt8(ascii: "-") else { return }
        let reply = SMTPReply(code: code, lines: replyLines)
        replyLines = []
        replyCode = nil
        if let waiting {
            self.waiting = nil
            waiting.succeed(reply)
        } else if queued.count == Self.maximumQueuedReplies {
            fail(.unsolicited, context: context)
        } else {
            queued.append(reply)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.closed, context: context)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        let waiting = self.waiting
        self.waiting = nil
        waiting?.fail(failure ?? .closed)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(.transport("\(error)"), context: context)
    }

    /// Reading stops for good: the waiting read and every later one fail with the first failure.
    private func fail(_ reason: SMTPReadFailure, context: ChannelHandlerContext) {
        if failure == nil { failure = reason }
        let waiting = self.waiting
        self.waiting = nil
        waiting?.fail(failure ?? reason)
        context.close(promise: nil)
    }

    /// A server's bytes as text for a message: UTF-8 (invalid sequences replaced), control characters
    /// dropped, at most a line's bound.
    static func printable<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        TextClip.scalars(String(decoding: bytes, as: UTF8.self), maximumLineBytes, printable: true)
    }
}
