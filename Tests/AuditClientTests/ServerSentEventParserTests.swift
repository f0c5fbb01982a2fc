import AuditClient
import XCTest

final class ServerSentEventParserTests: XCTestCase {
    func testMessagesFieldsCommentsAndIdsAsTheStandardSays() throws {
        var p = ServerSentEventParser()
        let text = "retry: 2000\nid: 5\nevent: ready\ndata: {\"Cursor\":\"5\"}\n\n: heartbeat\nid: 9\n\nid: 10\ndata: a\ndata:b\ndata\n\n"
        let got = try p.feed(Array(text.utf8))
        XCTAssertEqual(got, [
            ServerSentEvent(event: "ready", data: "{\"Cursor\":\"5\"}", lastEventId: "5", hasData: true),
            ServerSentEvent(event: "message", data: "", lastEventId: "9", hasData: false),
            ServerSentEvent(event: "message", data: "a\nb\n", lastEventId: "10", hasData: true),
        ])
        XCTAssertEqual(p.retryMilliseconds, 2000)
        XCTAssertEqual(p.lastEventId, "10")
    }

    func testLineEndingsAndChunkBoundariesDoNotMatter() throws {
        let text = Array("data: one\r\ndata: two\rid: 3\r\n\r\ndata: x\n\n".utf8)
        var whole = ServerSentEventParser()
        let expected = try whole.feed(text)
        XCTAssertEqual(expected.map(\.data), ["one\ntwo", "x"])
        XCTAssertEqual(expected.first?.lastEventId, "3")
        // A CRLF split across two reads is one line end, not two.
        for split in 0...text.count {
            var p = ServerSentEventParser()
            let got = try p.feed(text[..<split]) + p.feed(text[split...])
            XCTAssertEqual(got, expected, "split at \(split)")
        }
    }

    func testAnIdWithNulIsIgnoredAndAnUnfinishedMessageIsNotDispatched() throws {
        var p = ServerSentEventParser()
        XCTAssertEqual(try p.feed(Array("id: 4\n\nid: a\u{0}b\ndata: z\n\ndata: half".utf8)).map(\.lastEventId), ["4", "4"])
        XCTAssertEqual(p.lastEventId, "4")
    }

    func testLimitsAreErrorsNotUnboundedMemory() {
        var p = ServerSentEventParser(maxLineBytes: 16, maxDataBytes: 32)
        XCTAssertThrowsError(try p.feed(Array(repeating: UInt8(ascii: "a"), count: 17))) {
            XCTAssertEqual($0 as? ServerSentEventsError, .lineTooLong(limit: 16))
        }
        var q = ServerSentEventParser(maxLineBytes: 16, maxDataBytes: 32)
        XCTAssertThrowsError(try q.feed(Array(String(repeating: "data: 0123456789\n", count: 4).utf8))) {
            XCTAssertEqual($0 as? ServerSentEventsError, .dataTooLong(limit: 32))
        }
    }
}
