// libFuzzer target: `JSONParser.parse` on any bytes, and PutEvents validation
// (`EventRecordValidator.validate`) on each element of a `{"Events":[...]}` body (or on the document
// itself when it is a lone object). Besides "no trap", it checks what the API relies on:
//  - every object's `range` slices out bytes that parse to the same object (records are kept
//    byte-exact from the body);
//  - `JSONWriter` output parses back to the same value;
//  - an accepted record is JSON whose eventId and eventTime read back as the validator returned them;
//  - an RFC 3339 eventTime reads as ISO8601DateFormatter reads it, where that one is safe to call.
// Built and run by scripts/fuzz; seeds in Fuzz/Corpus/FuzzEventRecord.
import AuditModel
import Foundation
import FuzzHarness

let now: Int64 = 1_750_000_000

/// Equal, reading a non-finite double (which JSON cannot write) as the `null` the writer puts for it.
func written(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.double(let d), .null) where !d.isFinite: return true
    case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy(written)
    case (.object(let x), .object(let y)):
        return x.fields.count == y.fields.count && zip(x.fields, y.fields).allSatisfy { $0.key == $1.key && written($0.value, $1.value) }
    default: return a == b
    }
}

/// Every object's range, re-parsed on its own, is the same object.
func checkRanges(_ v: JSONValue, in bytes: [UInt8], budget: inout Int) {
    guard budget > 0 else { return }
    budget -= 1
    switch v {
    case .object(let o):
        precondition(o.range.lowerBound >= 0 && o.range.upperBound <= bytes.count, "object range outside the input")
        guard let again = try? JSONParser.parse(Array(bytes[o.range])) else { preconditionFailure("an object's bytes do not parse alone") }
        precondition(again == .object(o), "an object's bytes parse to another object")
        for f in o.fields { checkRanges(f.value, in: bytes, budget: &budget) }
    case .array(let items):
        for i in items { checkRanges(i, in: bytes, budget: &budget) }
    default: break
    }
}

let icu = ISO8601DateFormatter()
let icuWithFraction: ISO8601DateFormatter = {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f
}()

/// Where the RFC 3339 parser accepts a time that ISO8601DateFormatter (which it replaced) handles
/// safely (at most 9 digits of fraction) and reads the same way (after the Gregorian calendar's
/// start: ICU is Julian before 1582), both give the same second.
func checkAgainstICU(_ text: String) {
    guard let ours = EventTimeParser.rfc3339(text), let year = Int(text.prefix(4)), year >= 1600 else { return }
    let fraction = text.utf8.dropFirst(20).prefix { (0x30...0x39).contains($0) }.count
    guard fraction <= 9 else { return }
    let theirs = (icu.date(from: text) ?? icuWithFraction.date(from: text)).map { Int64($0.timeIntervalSince1970.rounded(.down)) }
    precondition(theirs == ours, "\(text): \(ours), ISO8601DateFormatter \(String(describing: theirs))")
}

func validate(_ element: JSONValue, source: [UInt8]) {
    if case .string(let text)? = element["eventTime"] { checkAgainstICU(text) }
    var generated = 0
    let result = EventRecordValidator.validate(element, source: source, now: now, resolveAccount: { named in
        guard let named else { return .success(AccountScope(accountId: 100_000_000_001, retentionDays: 30)) }
        guard let id = Int64(named), id > 0 else { return .failure(RecordRejection("InvalidParameterValue", "unknown account")) }
        return .success(AccountScope(accountId: id, retentionDays: id % 2 == 0 ? 1 : 3650))
    }, makeEventId: {
        generated += 1
        return "00000000-0000-4000-8000-00000000000\(generated)"
    })
    guard case .success(let event) = result else { return }
    guard case .object(let record)? = try? JSONParser.parse(event.record) else {
        preconditionFailure("an accepted record is not a JSON object: \(String(decoding: event.record, as: UTF8.self))")
    }
    let summary = EventSummary(record: event.record)
    precondition(summary.eventId == event.eventId, "the record's eventId reads back as \(summary.eventId), not \(event.eventId)")
    precondition(summary.eventTime == event.eventTime, "the record's eventTime reads back as \(summary.eventTime), not \(event.eventTime)")
    precondition(record["eventName"] != nil && event.eventTime <= now + EventRecordValidator.maxFutureSkew)
}

func fuzzEventRecord(_ input: UnsafeRawBufferPointer) {
    let bytes = Array(input)
    guard let value = try? JSONParser.parse(bytes) else { return }
    var budget = 64
    checkRanges(value, in: bytes, budget: &budget)
    let encoded = JSONWriter.encode(value)
    guard let reparsed = try? JSONParser.parse(encoded) else {
        preconditionFailure("JSONWriter output does not parse: \(String(decoding: encoded, as: UTF8.self))")
    }
    precondition(written(value, reparsed), "JSONWriter output parses to another value")

    if case .array(let events)? = value["Events"] {
        for e in events.prefix(100) { validate(e, source: bytes) }
    } else if case .array(let events) = value {
        for e in events.prefix(100) { validate(e, source: bytes) }
    } else {
        validate(value, source: bytes)
    }
}

@main enum Main: FuzzTarget {
    static func fuzz(_ input: UnsafeRawBufferPointer) { fuzzEventRecord(input) }
}
