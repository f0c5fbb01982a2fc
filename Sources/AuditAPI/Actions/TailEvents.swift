import AuditModel
import AuditStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// `TailEvents` (ours): the account's events as they are appended, as server-sent events
/// (`text/event-stream`), filtered by `LookupAttributes` with LookUpEvents' keys and semantics.
///
/// The stream reads the account's log in sequence order from a cursor (the sequence number of the last
/// event it passed), never from the request path: so it sees the events of every node, a reconnect
/// with `Last-Event-ID` (or `Cursor`) continues with no gap and no repeat, and a consumer that reads
/// slowly only falls behind itself (it is told so, and continues out of the store). docs/contract.md,
/// "Live tail", is the wire format.
public enum TailEvents {
    public static let name = "TailEvents"

    /// A heartbeat is sent after this long without a message, unless the request asks for a shorter one.
    public static let defaultHeartbeat: Int64 = 10
    /// The events read from the store per step.
    static let batch = 256
    /// A consumer this many events behind the log's end is told it fell behind (once, until it catches up).
    public static let behindThreshold: Int64 = 1000
    /// A stream ends after this long (the client reconnects with its cursor): no connection holds a
    /// caller's rights unchecked for long, and a node can be drained.
    public static let maxDuration: Duration = .seconds(15 * 60)
    /// How often the caller's rights are checked again (a key disabled, a session ended).
    static let recheckEvery: Duration = .seconds(30)

    /// What a tail follows and from where.
    public struct Request: Sendable, Equatable {
        public var accountId: Int64
        public var matcher: EventMatcher
        /// Continue after this sequence number; nil: from the log's end when the stream starts.
        public var cursor: Int64?
        public var heartbeatSeconds: Int64
    }

    /// The parameters of a tail: `LookupAttributes` (and `ExcludeAttributes`), `Cursor` or the
    /// `Last-Event-ID` header (the header wins: a browser's EventSource reconnects to the same URL with
    /// it), `Heartbeat` (seconds, 1-15).
    public static func parse(_ p: RequestParameters, accountId: Int64, lastEventId: String?) throws -> Request {
        let conditions = try QueryParameters.parseAttributes(p)
        let excluding = try QueryParameters.parseAttributes(p, name: "ExcludeAttributes")
        var cursor: Int64?
        if let header = lastEventId, !header.isEmpty {
            cursor = try parseCursor(header, name: "Last-Event-ID")
        } else if let raw = p["Cursor"], raw != .null {
            switch raw {
            case .string(let s): cursor = s.isEmpty ? nil : try parseCursor(s, name: "Cursor")
            case .int(let n): cursor = try parseCursor(String(n), name: "Cursor")
            default: throw APIError.wrongType("Cursor", expected: "a string", got: raw.typeName)
            }
        }
        let heartbeat: Int64
        do { heartbeat = try p.integer("Heartbeat") ?? defaultHeartbeat } catch {
            throw APIError.invalidValue("Heartbeat", "give the seconds between heartbeats, 1 to 15")
        }
        guard (1...15).contains(heartbeat) else { throw APIError.invalidValue("Heartbeat", "give the seconds between heartbeats, 1 to 15 (got \(heartbeat))") }
        return Request(accountId: accountId, matcher: EventMatcher(conditions: conditions, excluding: excluding), cursor: cursor, heartbeatSeconds: heartbeat)
    }

    /// A cursor is the `id:` of a message: the decimal sequence number of the account's last event it passed.
    public static func parseCursor(_ text: String, name: String) throws -> Int64 {
        guard !text.isEmpty, text.utf8.count <= 19, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let n = Int64(text) else {
            throw APIError.invalidValue(name, "give the id of the last message the stream sent (a whole number), or none to start at the newest event")
        }
        return n
    }

    /// The action as the action table knows it: its kind (read: admin and auditor) and its parameters
    /// checked. It answers with a stream, which only a GET can carry: `AuditAPI` and the console build
    /// the stream themselves after this succeeded.
    static let definition = ActionDefinition(name: name, kind: .read) { call in
        guard call.params.fromQueryString else { throw APIError.streamNeedsGet }
        _ = try parse(call.params, accountId: call.caller.accountId, lastEventId: nil)
        return []
    }

    /// The `text/event-stream` response of a tail that passed authentication and `definition`.
    ///
    /// - Parameters:
    ///   - stillAllowed: asked every 30 s; false (the key was disabled, the session ended) ends the stream.
    public static func response(_ request: Request, environment: APIEnvironment, logger: Logger,
                                stillAllowed: @escaping @Sendable () async -> Bool) throws -> Response {
        guard let slot = environment.tails.enter(accountId: request.accountId) else { throw APIError.tooManyTails }
        let stream = Stream(request: request, environment: environment, logger: logger, stillAllowed: stillAllowed)
        let headers: HTTPFields = [
            .contentType: "text/event-stream; charset=utf-8",
            .cacheControl: "no-store",
            // Proxies that buffer answers (nginx) pass this one through at once.
            HTTPField.Name("X-Accel-Buffering")!: "no",
        ]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { slot.leave() }
            try await stream.run(&writer)
            try await writer.finish(nil)
        })
    }

    /// One tail's loop: read, filter, write; wait for appends (or the poll interval); heartbeat.
    struct Stream: Sendable {
        var request: Request
        var environment: APIEnvironment
        var logger: Logger
        var stillAllowed: @Sendable () async -> Bool

        func run(_ writer: inout any ResponseBodyWriter) async throws {
            let events = environment.storage.events
            let signal = environment.appendSignal
            let account = request.accountId
            var cursor: Int64
            if let c = request.cursor { cursor = c } else { cursor = try await events.lastSequence(accountId: account) }
            // The first message says where the stream starts, so that a client that loses the connection
            // before any event resumes from here (not from a later end of the log).
            try await writer.write(ByteBuffer(string: "retry: 2000\nid: \(cursor)\nevent: ready\ndata: {\"Cursor\":\"\(cursor)\"}\n\n"))
            let clock = ContinuousClock()
            let started = clock.now
            var lastWrite = started
            var lastCheck = started
            var toldBehind = false
            let heartbeat = Duration.seconds(request.heartbeatSeconds)
            let stopping = Flag()
            let end: String
            do {
            end = try await withGracefulShutdownHandler {
                while true {
                    if Task.isCancelled || stopping.isSet { return "shutdown" }
                    let now = clock.now
                    if now - started >= TailEvents.maxDuration { return "reconnect" }
                    if now - lastCheck >= TailEvents.recheckEvery {
                        lastCheck = now
                        if await !stillAllowed() { return "unauthorized" }
                    }
                    let generation = signal.generation(accountId: account)
                    let batch = try await events.events(accountId: account, afterSequence: cursor, limit: TailEvents.batch)
                    if let last = batch.last {
                        var out = ByteBuffer()
                        for e in batch where request.matcher.matches(storedRecord: e.record, eventTime: e.eventTime) {
                            TailEvents.message(id: e.sequence, data: e.record, into: &out)
                        }
                        // How far behind the log's end the consumer was when this batch was read (from where
                        // the batch started, so a consumer 1,000 behind hears it at its first full batch).
                        let from = cursor
                        cursor = last.sequence
                        if batch.count == TailEvents.batch {
                            let lag = try await events.lastSequence(accountId: account) - from
                            if lag >= TailEvents.behindThreshold, !toldBehind {
                                toldBehind = true
                                out.writeString("event: behind\ndata: {\"Behind\":\(lag),\"Cursor\":\"\(cursor)\"}\n\n")
                            }
                        } else {
                            toldBehind = false
                        }
                        if out.readableBytes > 0 {
                            try await writer.write(out)
                            lastWrite = clock.now
                        }
                        if batch.count == TailEvents.batch { continue }
                    }
                    if clock.now - lastWrite >= heartbeat {
                        // A comment keeps proxies from closing an idle connection; the id moves the client's
                        // cursor past the events the filter skipped, so a reconnect does not read them again.
                        try await writer.write(ByteBuffer(string: ": heartbeat\nid: \(cursor)\n\n"))
                        lastWrite = clock.now
                    }
                    let untilHeartbeat = heartbeat - (clock.now - lastWrite)
                    await signal.wait(accountId: account, changedFrom: generation,
                                      upTo: max(.milliseconds(10), min(environment.tailPollInterval, untilHeartbeat)))
                }
            } onGracefulShutdown: {
                // The loop sees it within one poll interval, says `end` and returns: the server's drain
                // does not wait on open tails.
                stopping.set()
            }
            } catch let e as StoreError {
                // The store went away (PostgreSQL restarting): the client reconnects with its cursor.
                logger.notice("tail stopped: the store did not answer", metadata: ["error.message": "\(e.message)"])
                end = "unavailable"
            }
            let reason = "{\"Reason\":\"\(end)\",\"Cursor\":\"\(cursor)\"}"
            try? await writer.write(ByteBuffer(string: "id: \(cursor)\nevent: end\ndata: \(reason)\n\n"))
            logger.debug("tail ended", metadata: ["audit.account": "\(account)", "tail.reason": "\(end)"])
        }
    }

    /// `id: <sequence>` and the record as `data:` lines (a record holding line breaks between its JSON
    /// tokens becomes several `data:` lines, which the client joins with "\n").
    static func message(id: Int64, data: [UInt8], into out: inout ByteBuffer) {
        out.writeString("id: \(id)\n")
        var lineStart = 0
        var i = 0
        while i < data.count {
            let b = data[i]
            if b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r") {
                out.writeString("data: ")
                out.writeBytes(data[lineStart..<i])
                out.writeString("\n")
                if b == UInt8(ascii: "\r"), i + 1 < data.count, data[i + 1] == UInt8(ascii: "\n") { i += 1 }
                lineStart = i + 1
            }
            i += 1
        }
        out.writeString("data: ")
        out.writeBytes(data[lineStart..<data.count])
        out.writeString("\n\n")
    }
}

/// A flag set once from any thread.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// The live tails of this node: at most `perNode` at once, `perAccount` per account (each holds a
/// connection, and reads the store while it lives).
public final class TailSlots: @unchecked Sendable {
    public let perNode: Int
    public let perAccount: Int
    private let lock = NSLock()
    private var total = 0
    private var byAccount: [Int64: Int] = [:]

    public init(perNode: Int = 256, perAccount: Int = 32) {
        self.perNode = perNode
        self.perAccount = perAccount
    }

    public struct Slot: Sendable {
        let slots: TailSlots
        let accountId: Int64
        public func leave() { slots.leave(accountId) }
    }

    /// A slot for a new tail of the account, or nil when the node or the account has no more.
    public func enter(accountId: Int64) -> Slot? {
        lock.withLock {
            guard total < perNode, byAccount[accountId, default: 0] < perAccount else { return nil }
            total += 1
            byAccount[accountId, default: 0] += 1
            return Slot(slots: self, accountId: accountId)
        }
    }

    /// Tails open now.
    public var open: Int { lock.withLock { total } }

    private func leave(_ accountId: Int64) {
        lock.withLock {
            total -= 1
            let n = byAccount[accountId, default: 1] - 1
            byAccount[accountId] = n > 0 ? n : nil
        }
    }
}
