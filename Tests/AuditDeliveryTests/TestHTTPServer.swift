import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A tiny HTTP/1.1 server on 127.0.0.1 for tests: it records every request and answers with what the
/// test's responder returns.
final class TestHTTPServer: Sendable {
    struct Request: Sendable {
        var method: HTTPMethod
        var uri: String
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    struct Response: Sendable {
        var status: HTTPResponseStatus
        var headers: [(String, String)] = []
        var body: [UInt8] = []

        init(_ status: HTTPResponseStatus, headers: [(String, String)] = [], body: String = "") {
            self.status = status
            self.headers = headers
            self.body = Array(body.utf8)
        }
    }

    typealias Responder = @Sendable (_ request: Request, _ index: Int) -> Response

    let port: Int
    private let channel: Channel
    private let recorded: NIOLockedValueBox<[Request]>

    /// Every request received so far, in order.
    var requests: [Request] { recorded.withLockedValue { $0 } }

    /// Starts listening on an ephemeral port; `responder` gets each request and its 0-based index.
    static func start(responder: @escaping Responder) async throws -> TestHTTPServer {
        let recorded = NIOLockedValueBox<[Request]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(recorded: recorded, responder: responder))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestHTTPServer(channel: channel, recorded: recorded)
    }

    private init(channel: Channel, recorded: NIOLockedValueBox<[Request]>) {
        self.channel = channel
        self.recorded = recorded
        self.port = channel.localAddress?.port ?? 0
    }

    func shutdown() async throws {
        try await channel.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let recorded: NIOLockedValueBox<[Request]>
        private let responder: Responder
        private var head: HTTPRequestHead?
        private var body: [UInt8] = []

        init(recorded: NIOLockedValueBox<[Request]>, responder: @escaping Responder) {
            self.recorded = recorded
            self.responder = responder
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(let buffer):
                body += Array(buffer.readableBytesView)
            case .end:
                guard let head else { return }
                let request = Request(method: head.method, uri: head.uri, headers: head.headers, body: body)
                let index = recorded.withLockedValue { requests in
                    requests.append(request)
                    return requests.count - 1
                }
                let response = responder(request, index)
                var headers = HTTPHeaders(response.headers)
                headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))),
                              promise: nil)
                if head.method != .HEAD && !response.body.isEmpty {
                    context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
                }
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
