// libFuzzer target: the request-signing inputs a client controls before its key is even known.
//  - `TC3Authorization(header:)` on the whole input and on each of its lines;
//  - `Authenticator.excessSkew(timestamp:now:)` on timestamps from the input (each line that
//    `Int64()` parses, and the first 16 bytes as two raw Int64s), checked against a difference
//    computed without overflow;
//  - `TC3Signer.utcDate` / `UTCTime` on the same values (round trip through `parseBasicTimestamp`),
//    and a signature made at the first of them, which must parse back as the header it is.
// Built and run by scripts/fuzz; seeds in Fuzz/Corpus/FuzzAuthorization.
import AuditAPI
import AuditSigning
import AuditModel
import Foundation
import FuzzHarness

let now: Int64 = 1_750_000_000

func checkAuthorization(_ header: String) {
    guard let auth = TC3Authorization(header: header) else { return }
    precondition(!auth.secretId.isEmpty && !auth.signedHeaders.isEmpty)
    precondition(auth.signature.utf8.count == 64 && auth.signature == auth.signature.lowercased())
}

func checkTime(_ ts: Int64, against clock: Int64) {
    // The distance between two Int64s always fits a UInt64: wrapping subtraction, read unsigned.
    let distance = ts >= clock ? UInt64(bitPattern: ts &- clock) : UInt64(bitPattern: clock &- ts)
    let skew = Authenticator.excessSkew(timestamp: ts, now: clock)
    if distance <= UInt64(Authenticator.maxSkew) {
        precondition(skew == nil, "excessSkew(\(ts), \(clock)) = \(String(describing: skew)) for a distance of \(distance)")
    } else {
        guard let skew else { preconditionFailure("excessSkew(\(ts), \(clock)) = nil for a distance of \(distance)") }
        precondition((skew < 0) == (ts < clock) && skew.magnitude <= distance, "excessSkew(\(ts), \(clock)) = \(skew)")
    }
}

func checkCalendar(_ ts: Int64) {
    let t = UTCTime(ts)
    precondition((1...9999).contains(t.year) && (1...12).contains(t.month) && (1...31).contains(t.day))
    precondition((0..<24).contains(t.hour) && (0..<60).contains(t.minute) && (0..<60).contains(t.second))
    let clamped = min(max(ts, UTCTime.representable.lowerBound), UTCTime.representable.upperBound)
    let back = UTCTime.parseBasicTimestamp(t.basicTimestamp)
    precondition(back == clamped, "\(ts): \(t.basicTimestamp) parses back as \(String(describing: back))")
    precondition(TC3Signer.utcDate(ts) == t.isoDate)
    _ = t.dateTime
    _ = t.compactHour
}

/// A header signed at `ts` parses back with the date of `ts` (HMACs: once per input, not per time).
func checkSignedAt(_ ts: Int64) {
    let request = TC3Signer.Request(method: "POST", signedHeaders: [("content-type", "application/json"), ("host", "127.0.0.1:9780")],
                                    payloadHash: TC3Signer.hexSHA256([UInt8]()), timestamp: ts, service: "cloudaudit")
    let header = TC3Signer.authorization(request, secretId: "AKIDfuzz", secretKey: "fuzz-secret")
    guard let parsed = TC3Authorization(header: header) else { preconditionFailure("our own header does not parse: \(header)") }
    precondition(parsed.date == request.date && parsed.secretId == "AKIDfuzz" && parsed.signedHeaders == ["content-type", "host"])
}

func fuzzAuthorization(_ input: UnsafeRawBufferPointer) {
    let raw = input
    let text = String(decoding: raw, as: UTF8.self)
    checkAuthorization(text)
    var times: [Int64] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).prefix(8) {
        checkAuthorization(String(line))
        if let t = Int64(line) { times.append(t) }
        if let t = UTCTime.parseBasicTimestamp(line) { times.append(t) }
    }
    var clocks: [Int64] = [now]
    if raw.count >= 16 {
        let a = raw.loadUnaligned(fromByteOffset: 0, as: Int64.self)
        let b = raw.loadUnaligned(fromByteOffset: 8, as: Int64.self)
        times.append(a)
        clocks.append(b)
    }
    for t in times {
        checkCalendar(t)
        for c in clocks { checkTime(t, against: c) }
    }
    if let t = times.first { checkSignedAt(t) }
}

/// Seeds: Authorization headers made by the signer (as SDKs send them), the published example's
/// header shape, and timestamps at the edges (alone and after a header).
func seedInputs() -> [(String, [UInt8])] {
    var out: [(String, [UInt8])] = []
    let body = Array(#"{"StartTime":1749990000,"EndTime":1750000000,"MaxResults":10}"#.utf8)
    let request = TC3Signer.Request(method: "POST", signedHeaders: [("content-type", "application/json; charset=utf-8"), ("host", "127.0.0.1:9780"),
                                                                     ("x-tc-action", "lookupevents")],
                                    payloadHash: TC3Signer.hexSHA256(body), timestamp: now, service: "cloudaudit")
    let header = TC3Signer.authorization(request, secretId: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE")
    out.append(("header-sdk", Array(header.utf8)))
    out.append(("header-and-timestamp", Array((header + "\n\(now)").utf8)))
    let get = TC3Signer.Request(method: "GET", query: "Action=LookUpEvents&StartTime=1749990000&EndTime=1750000000",
                                signedHeaders: [("content-type", "application/x-www-form-urlencoded"), ("host", "127.0.0.1:9780")],
                                payloadHash: TC3Signer.hexSHA256([UInt8]()), timestamp: 1_551_113_065, service: "cvm")
    out.append(("header-get-2019", Array(TC3Signer.authorization(get, secretId: "AKIDexample0001", secretKey: "secret").utf8)))
    out.append(("header-spaced", Array("  TC3-HMAC-SHA256 Credential=AKIDexample0001/2025-06-15/cloudaudit/tc3_request ,  SignedHeaders=Content-Type;Host , Signature=72E494EA809AD7A8C8F7A4507B9BDDCBAA8E581F516E8DA2F66E2C5A96525168 ".utf8)))
    out.append(("header-missing-signature", Array("TC3-HMAC-SHA256 Credential=AKIDexample0001/2025-06-15/cloudaudit/tc3_request, SignedHeaders=content-type;host".utf8)))
    out.append(("header-bad-scope", Array("TC3-HMAC-SHA256 Credential=AKIDexample0001/2025-06-15/cloudaudit, SignedHeaders=host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168".utf8)))
    for t in ["1750000000", "1749999700", "1750000301", "0", "-1", "9223372036854775807", "-9223372036854775808", "253402300799",
              "253402300800", "-62135596800", "-62135596801", "+1750000000", "20250615T150640Z", "99991231T235959Z", "00010101T000000Z"] {
        out.append(("time\(t)", Array(t.utf8)))
    }
    out.append(("raw-extremes", withUnsafeBytes(of: (Int64.min, Int64.max)) { Array($0) }))
    out.append(("raw-near", withUnsafeBytes(of: (now + 300, now)) { Array($0) }))
    return out
}

@main enum Main: FuzzTarget {
    static func fuzz(_ input: UnsafeRawBufferPointer) { fuzzAuthorization(input) }
    static func seeds() -> [(String, [UInt8])] { seedInputs() }
}
