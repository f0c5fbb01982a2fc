// libFuzzer target: `TrustedProxies.client` (the client address behind trusted proxies, from the
// Forwarded and X-Forwarded-For headers a client controls) and `IPNetwork` / `IPAddress` parsing. Input:
// NUL-separated fields: the peer address, then header lines, each `F:` (Forwarded) or `X:`
// (X-Forwarded-For). Any bytes must give an answer, never a trap; the answer is the peer itself or an
// address literal of at most 45 characters; with no trusted proxy it is always the peer, and a peer that
// is not trusted is always its own answer. Built and run by scripts/fuzz; seeds in Fuzz/Corpus/FuzzForwarded.
import AuditAPI
import AuditModel
import Foundation
import FuzzHarness

let trusted: TrustedProxies = {
    guard case .success(let p) = TrustedProxies.parse("127.0.0.1, 10.0.0.0/8, fd00::/8, ::1") else { preconditionFailure("seed networks") }
    return p
}()

func fuzzForwarded(_ input: UnsafeRawBufferPointer) {
    let fields = Array(input).split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    let peer = fields.first ?? ""
    var forwarded: [String] = [], xff: [String] = []
    for f in fields.dropFirst() {
        if f.hasPrefix("F:") { forwarded.append(String(f.dropFirst(2))) } else if f.hasPrefix("X:") { xff.append(String(f.dropFirst(2))) }
    }
    precondition(TrustedProxies.none.client(peer: peer, forwarded: forwarded, xForwardedFor: xff) == peer, "no proxy trusted: the peer")
    let answer = trusted.client(peer: peer, forwarded: forwarded, xForwardedFor: xff)
    if answer != peer {
        precondition(IPAddress(answer) != nil && answer.utf8.count <= 45, "the answer is an address: \(answer)")
        precondition(IPAddress(peer).map { a in trusted.networks.contains { $0.contains(a) } } == true, "an untrusted peer named another client")
    }
    // Each field as a network: a parsed one prints as text that parses to itself.
    for f in fields.prefix(4) {
        if let n = IPNetwork(f) { precondition(IPNetwork(n.description) == n, "\(f) -> \(n) does not round-trip") }
    }
}

@main enum Main: FuzzTarget {
    static func fuzz(_ input: UnsafeRawBufferPointer) { fuzzForwarded(input) }
}
