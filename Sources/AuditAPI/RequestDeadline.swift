import Foundation
import Hummingbird
import NIOCore

/// Every request gets a deadline: past it, the client is answered with an error, the request's work is
/// cancelled (store reads are interrupted at their next step) and the connection stops being read and
/// closes once the answer is written. So a client that sends its body slowly, or a request that would
/// work for too long, holds neither a slot of the server nor the connection for longer than `timeout`.
///
/// `timedOut` makes the answer: the API's envelope for the API, the console's shape for the console.
public struct RequestDeadlineMiddleware: RouterMiddleware {
    public typealias Context = AuditRequestContext
    public let timeout: Duration
    let timedOut: @Sendable (Request, AuditRequestContext, Duration) -> Response

    public init(timeout: Duration, timedOut: @escaping @Sendable (Request, AuditRequestContext, Duration) -> Response) {
        self.timeout = timeout
        self.timedOut = timedOut
    }

    /// Lets the router's non-escaping `next` run in a child task of a group that this function awaits
    /// to the end (so it never outlives the call).
    struct Next: @unchecked Sendable {
        let run: (Request, AuditRequestContext) async throws -> Response
    }

    public func handle(_ request: Request, context: AuditRequestContext,
                       next: (Request, AuditRequestContext) async throws -> Response) async throws -> Response {
        let timeout = self.timeout
        let answered: Response? = try await withoutActuallyEscaping(next) { next in
            let work = Next(run: next)
            return try await withThrowingTaskGroup(of: Response?.self) { group in
                group.addTask { try await work.run(request, context) }
                group.addTask {
                    // Returns at the deadline, or at once when cancelled (the work finished first, or the
                    // server is shutting down).
                    try? await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                if let first = try await group.next(), let response = first { return response }
                // Read no more of this connection (a slow body ends here, and the work waiting for it);
                // the answer is still written, then the connection closes.
                context.channel.close(mode: .input, promise: nil)
                return nil
            }
        }
        if let answered { return answered }
        context.logger.notice("request deadline passed", metadata: ["http.path": "\(request.uri.path)",
                                                                    "request.deadline_seconds": "\(timeout.components.seconds)"])
        return timedOut(request, context, timeout)
    }
}
