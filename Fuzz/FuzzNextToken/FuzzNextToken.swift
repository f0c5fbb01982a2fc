// libFuzzer target: `PageCursorCodec.decode` (the NextToken of LookUpEvents) on arbitrary strings. A
// token the codec did not make must be refused (`BadNextToken`), never trap; a token it made must
// decode to its position for its query only. Built and run by scripts/fuzz; seeds in
// Fuzz/Corpus/FuzzNextToken (tokens made with the secret below).
import AuditAPI
import AuditModel
import AuditStore
import Foundation
import FuzzHarness

/// The deployment secret the seed tokens were made with (see Fuzz/README.md).
let codec = PageCursorCodec(secret: Array("cloudaudit fuzz page cursor secret".utf8))
let query = EventQuery(accountId: 100_000_000_001, startTime: 1_749_000_000, endTime: 1_750_000_000,
                       conditions: [LookupCondition(key: .eventName, values: ["DeleteBucket", "PutObject"])], limit: 10)
let otherQuery = EventQuery(accountId: 100_000_000_002, startTime: 1_749_000_000, endTime: 1_750_000_000,
                            conditions: [LookupCondition(key: .eventName, values: ["DeleteBucket", "PutObject"])], limit: 10)

func fuzzNextToken(_ input: UnsafeRawBufferPointer) {
    let raw = input
    let token = String(decoding: raw, as: UTF8.self)
    if let position = try? codec.decode(token, for: query) {
        // Only a token made by the codec decodes; it is bound to the query.
        precondition((try? codec.decode(token, for: otherQuery)) == nil, "a token decodes for two queries: \(token)")
        precondition(codec.encode(position, for: query).utf8.count <= 64)
    }
    _ = try? codec.decode(token, for: otherQuery)
    if raw.count >= 16 {
        let position = PagePosition(eventTime: raw.loadUnaligned(fromByteOffset: 0, as: Int64.self),
                                    position: raw.loadUnaligned(fromByteOffset: 8, as: Int64.self))
        let made = codec.encode(position, for: query)
        precondition((try? codec.decode(made, for: query)) == position, "the token of \(position) does not decode back")
        precondition((try? codec.decode(made, for: otherQuery)) == nil)
    }
}

/// Seeds: real tokens for `query` (and one for `otherQuery`), damaged tokens, and raw positions.
func seedInputs() -> [(String, [UInt8])] {
    let positions = [PagePosition(eventTime: 1_749_999_000, position: 1), PagePosition(eventTime: 1_750_000_000, position: 123_456),
                     PagePosition(eventTime: 0, position: 0), PagePosition(eventTime: -1, position: Int64.max),
                     PagePosition(eventTime: Int64.min, position: Int64.min)]
    var out: [(String, [UInt8])] = []
    for (i, p) in positions.enumerated() { out.append(("token-\(i)", Array(codec.encode(p, for: query).utf8))) }
    let token = codec.encode(positions[1], for: query)
    out.append(("token-other-query", Array(codec.encode(positions[1], for: otherQuery).utf8)))
    out.append(("token-truncated", Array(token.dropLast(3).utf8)))
    out.append(("token-padded", Array((token + "=").utf8)))
    out.append(("token-std-base64", Array(token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/").utf8)))
    out.append(("token-flipped", Array((String(token.dropLast()) + (token.last == "A" ? "B" : "A")).utf8)))
    out.append(("token-version-2", Array(("Ag" + token.dropFirst(2)).utf8)))
    out.append(("integer-token", Array("5468236947212288".utf8)))
    out.append(("raw-position", withUnsafeBytes(of: (Int64(1_750_000_000), Int64(42))) { Array($0) }))
    return out
}

@main enum Main: FuzzTarget {
    static func fuzz(_ input: UnsafeRawBufferPointer) { fuzzNextToken(input) }
    static func seeds() -> [(String, [UInt8])] { seedInputs() }
}
