// libFuzzer target: `ServerSentEventParser` (what `cloudaudit events tail` reads from a server it was
// pointed at) fed the input in chunks of varying sizes, and `TailEvents.parseCursor` on each line. Any
// bytes must give messages or a `ServerSentEventsError`, never a trap; splitting the same bytes into other
// chunks gives the same messages (the parser keeps no state that depends on where a read ended), and no
// message's data is longer than the limit. Built and run by scripts/fuzz; seeds in Fuzz/Corpus/FuzzServerSentEvents.
import AuditAPI
import AuditClient
import FuzzHarness

func messages(_ bytes: [UInt8], chunk: Int) -> Result<[ServerSentEvent], ServerSentEventsError> {
    var parser = ServerSentEventParser(maxLineBytes: 4096, maxDataBytes: 8192)
    var out: [ServerSentEvent] = []
    var i = 0
    while i < bytes.count {
        let end = min(bytes.count, i + chunk)
        do { out += try parser.feed(bytes[i..<end]) } catch let e as ServerSentEventsError { return .failure(e) } catch {
            preconditionFailure("an error that is not a ServerSentEventsError: \(error)")
        }
        i = end
    }
    return .success(out)
}

func fuzzServerSentEvents(_ input: UnsafeRawBufferPointer) {
    let bytes = Array(input)
    let whole = messages(bytes, chunk: max(1, bytes.count))
    let bytewise = messages(bytes, chunk: 1)
    let odd = messages(bytes, chunk: 7)
    switch (whole, bytewise, odd) {
    case (.success(let a), .success(let b), .success(let c)):
        precondition(a == b && b == c, "chunking changed the messages")
        for m in a { precondition(m.data.utf8.count <= 8192, "a message longer than the limit") }
    case (.failure, .failure, .failure):
        break
    default:
        preconditionFailure("chunking changed whether the stream is refused")
    }
    for line in bytes.split(separator: 10).prefix(8) {
        let text = String(decoding: line, as: UTF8.self)
        if let n = try? TailEvents.parseCursor(text, name: "Cursor") {
            precondition(n >= 0 && Int64(text) == n, "a cursor parsed to another number: \(text) -> \(n)")
        }
    }
}

@main enum Main: FuzzTarget {
    static func fuzz(_ input: UnsafeRawBufferPointer) { fuzzServerSentEvents(input) }
}
