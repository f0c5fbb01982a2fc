import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// A syslog receiver for the tests only, over TCP or TLS: it splits what arrives into octet-counted
/// frames (`MSG-LEN SP SYSLOG-MSG`, RFC 6587 3.4.1) and records them, and records framing that is wrong.
final class FakeSyslogReceiver: Sendable {
    struct Recording: Sendable {
        var frames: [[UInt8]] = []
        var framingErrors: [String] = []
    }

    private let recorded = Mutex(Recording())
    private let listener: TestListener

    var port: Int { listener.port }
    var recording: Recording { recorded.withLock { $0 } }

    private init(listener: TestListener) {
        self.listener = listener
    }

    /// - Parameters:
    ///   - tls: TLS with this context; nil: plain TCP.
    ///   - silent: accept connections and read nothing (no TLS handshake either).
    static func start(tls: NIOSSLContext? = nil, silent: Bool = false) async throws -> FakeSyslogReceiver {
        let box = Mutex<FakeSyslogReceiver?>(nil)
        let listener = try await TestListener.start { channel in
            guard !silent, let receiver = box.withLock({ $0 }) else { return }
            if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
            try channel.pipeline.syncOperations.addHandler(FrameSplitter(receiver: receiver))
        }
        let receiver = FakeSyslogReceiver(listener: listener)
        box.withLock { $0 = receiver }
        return receiver
    }

    func stop() async { await listener.stop() }

    fileprivate func record(_ change: (inout Recording) -> Void) { recorded.withLock { change(&$0) } }
}

private final class FrameSplitter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let receiver: FakeSyslogReceiver
    var buffer: [UInt8] = []

    init(receiver: FakeSyslogReceiver) {
        self.receiver = receiver
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        buffer += unwrapInboundIn(data).readableBytesView
        while let space = buffer.firstIndex(of: UInt8(ascii: " ")) {
            let digits = buffer[..<space]
            guard !digits.isEmpty, digits.count <= 6, digits.first != UInt8(ascii: "0"), digits.allSatisfy({ (0x30...0x39).contains($0) }),
                  let length = Int(String(decoding: digits, as: UTF8.self))
            else {
                receiver.record { $0.framingErrors.append("bad MSG-LEN \(String(decoding: digits, as: UTF8.self))") }
                buffer = []
                return
            }
            guard buffer.count >= space + 1 + length else { return }
            let frame = Array(buffer[(space + 1)..<(space + 1 + length)])
            buffer.removeSubrange(..<(space + 1 + length))
            receiver.record { $0.frames.append(frame) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !buffer.isEmpty { receiver.record { $0.framingErrors.append("\(buffer.count) bytes left over at the end") } }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
