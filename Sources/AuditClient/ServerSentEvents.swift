/// One message of a `text/event-stream` (the HTML standard's "server-sent events").
public struct ServerSentEvent: Sendable, Equatable {
    /// The `event:` field; "message" when the server gave none.
    public var event: String
    /// The `data:` lines joined with "\n".
    public var data: String
    /// The stream's last event id after this message (the `id:` of this message or of an earlier one).
    public var lastEventId: String
    /// Whether the message had data (a message with none only moves `lastEventId`, as a heartbeat does).
    public var hasData: Bool

    public init(event: String, data: String, lastEventId: String, hasData: Bool) {
        self.event = event
        self.data = data
        self.lastEventId = lastEventId
        self.hasData = hasData
    }
}

/// Parses a `text/event-stream` as it arrives, byte chunks in, messages out, the way the HTML standard
/// says a browser does: lines end with LF, CRLF or CR; `:` starts a comment; `data`, `event`, `id` and
/// `retry` fields; a blank line dispatches the message.
///
/// Bounded: a line longer than `maxLineBytes` or a message's data longer than `maxDataBytes` is an
/// error (``ServerSentEventsError``), never unbounded memory; nothing in it can trap on any input.
public struct ServerSentEventParser: Sendable {
    public let maxLineBytes: Int
    public let maxDataBytes: Int

    private var line: [UInt8] = []
    private var lastByteWasCR = false
    private var data: [UInt8] = []
    private var hasData = false
    private var event = ""
    private var idBuffer = ""
    /// The reconnection time the server asked for (`retry:`), in milliseconds.
    public private(set) var retryMilliseconds: Int?
    /// The id to resume from (`Last-Event-ID`): the last `id:` of a dispatched message.
    public private(set) var lastEventId = ""

    public init(maxLineBytes: Int = 1 << 20, maxDataBytes: Int = 4 << 20) {
        self.maxLineBytes = maxLineBytes
        self.maxDataBytes = maxDataBytes
    }

    /// Feeds bytes; returns the messages they completed, in order.
    public mutating func feed<C: Collection>(_ bytes: C) throws -> [ServerSentEvent] where C.Element == UInt8 {
        var out: [ServerSentEvent] = []
        for b in bytes {
            if b == 0x0A, lastByteWasCR {
                // The LF of a CRLF: the CR already ended the line.
                lastByteWasCR = false
                continue
            }
            lastByteWasCR = b == 0x0D
            if b == 0x0A || b == 0x0D {
                if let m = try endLine() { out.append(m) }
                line.removeAll(keepingCapacity: true)
            } else {
                guard line.count < maxLineBytes else { throw ServerSentEventsError.lineTooLong(limit: maxLineBytes) }
                line.append(b)
            }
        }
        return out
    }

    private mutating func endLine() throws -> ServerSentEvent? {
        if line.isEmpty { return dispatch() }
        if line.first == UInt8(ascii: ":") { return nil }
        var name = line[...]
        var value: ArraySlice<UInt8> = []
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            name = line[..<colon]
            value = line[(colon + 1)...]
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        }
        switch String(decoding: name, as: UTF8.self) {
        case "data":
            guard data.count + value.count + 1 <= maxDataBytes else { throw ServerSentEventsError.dataTooLong(limit: maxDataBytes) }
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        case "event":
            event = String(decoding: value, as: UTF8.self)
        case "id":
            // The standard ignores an id holding U+0000.
            if !value.contains(0) { idBuffer = String(decoding: value, as: UTF8.self) }
        case "retry":
            if !value.isEmpty, value.count <= 9, value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
                retryMilliseconds = Int(String(decoding: value, as: UTF8.self))
            }
        default:
            break
        }
        return nil
    }

    private mutating func dispatch() -> ServerSentEvent? {
        lastEventId = idBuffer
        defer {
            data.removeAll(keepingCapacity: true)
            hasData = false
            event = ""
        }
        // A blank line after nothing, or after fields without data, dispatches no message; the id still
        // counts (a heartbeat with an id moves the cursor).
        return ServerSentEvent(event: event.isEmpty ? "message" : event, data: String(decoding: data, as: UTF8.self),
                               lastEventId: lastEventId, hasData: hasData)
    }
}

public enum ServerSentEventsError: Error, Sendable, Equatable, CustomStringConvertible {
    case lineTooLong(limit: Int)
    case dataTooLong(limit: Int)

    public var description: String {
        switch self {
        case .lineTooLong(let limit): return "the event stream sent a line longer than \(limit) bytes"
        case .dataTooLong(let limit): return "the event stream sent a message longer than \(limit) bytes"
        }
    }
}
