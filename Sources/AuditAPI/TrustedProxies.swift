import AuditModel
import HTTPTypes
import Hummingbird

/// The proxies (load balancers, TLS terminators) whose word on the client's address is taken: a request
/// from one of these networks is attributed to the address its `Forwarded` (RFC 7239) or
/// `X-Forwarded-For` header names; from any other peer those headers are ignored, since a client can
/// write them. docs/contract.md, "Trusted proxies".
public struct TrustedProxies: Sendable {
    public let networks: [IPNetwork]

    /// At most this many hops of a forwarding header are read (from the right, the nearest proxy first).
    static let maxHops = 64

    public static let none = TrustedProxies(networks: [])

    public init(networks: [IPNetwork]) { self.networks = networks }

    /// `text`: networks separated by commas or spaces (`10.0.0.0/8, 192.168.1.10`); nil when one is not a
    /// network, with the offending entry in `bad`.
    public static func parse(_ text: String) -> Result<TrustedProxies, ParseError> {
        var out: [IPNetwork] = []
        for entry in text.split(whereSeparator: { $0 == "," || $0 == " " }) {
            guard let n = IPNetwork(entry) else { return .failure(ParseError(entry: TextClip.scalars(String(entry), 60, printable: true))) }
            out.append(n)
        }
        return .success(TrustedProxies(networks: out))
    }

    public struct ParseError: Error, Sendable { public let entry: String }

    func trusts(_ a: IPAddress) -> Bool { networks.contains { $0.contains(a) } }

    /// The client of a request from `peer` with `headers` (see ``client(peer:forwarded:xForwardedFor:)``).
    public func client(peer: String, headers: HTTPFields) -> String {
        guard !networks.isEmpty else { return peer }
        return client(peer: peer, forwarded: headers[values: .init("Forwarded")!], xForwardedFor: headers[values: .init("X-Forwarded-For")!])
    }

    /// The client of a request from `peer` with these header lines: `peer` itself unless it is a trusted
    /// proxy; then, walking the forwarding header from the right, the first address that is not a
    /// trusted proxy (every hop trusted: the leftmost; a hop that is not an address: the hop to its
    /// right, the last one vouched for). `Forwarded` is read when the request has it, else
    /// `X-Forwarded-For`; at most ``maxHops`` hops from the right.
    public func client(peer: String, forwarded: [String], xForwardedFor: [String]) -> String {
        guard !networks.isEmpty, let peerAddress = IPAddress(peer), trusts(peerAddress) else { return peer }
        let hops = Self.forwardedHops(forwarded: forwarded, xForwardedFor: xForwardedFor)
        var vouched = peerAddress
        for hop in hops.reversed() {
            guard let a = IPAddress(hop) else { return vouched.description }
            if !trusts(a) { return a.description }
            vouched = a
        }
        return vouched.description
    }

    /// The hops a request's `Forwarded` lines name in their `for=` parameters (when it has any), else those
    /// of `X-Forwarded-For`, left to right, the last ``maxHops`` of them, each stripped of quotes,
    /// brackets and a port.
    static func forwardedHops(forwarded: [String], xForwardedFor: [String]) -> [Substring] {
        if !forwarded.isEmpty {
            var out: [Substring] = []
            for element in forwarded.joined(separator: ",").split(separator: ",").suffix(maxHops) {
                for pair in element.split(separator: ";") {
                    let kv = pair.split(separator: "=", maxSplits: 1)
                    guard kv.count == 2, kv[0].trimmingSpaces.lowercased() == "for" else { continue }
                    out.append(hostOnly(kv[1].trimmingSpaces))
                }
            }
            return Array(out.suffix(maxHops))
        }
        return xForwardedFor.joined(separator: ",").split(separator: ",").suffix(maxHops).map { hostOnly($0.trimmingSpaces) }
    }

    /// `"[2001:db8::1]:4711"` -> `2001:db8::1`; `192.0.2.1:80` -> `192.0.2.1`; a bare IPv6 address stays.
    static func hostOnly(_ s: Substring) -> Substring {
        var t = s
        if t.hasPrefix("\""), t.hasSuffix("\""), t.count >= 2 { t = t.dropFirst().dropLast() }
        if t.hasPrefix("["), let close = t.firstIndex(of: "]") { return t[t.index(after: t.startIndex)..<close] }
        if t.filter({ $0 == ":" }).count == 1, let colon = t.firstIndex(of: ":") { return t[..<colon] }
        return t
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}

/// Sets each request's `remoteAddress` to its client (``TrustedProxies/client(peer:headers:)``); added
/// to the router before any route, so the API, the console and self-audit all see the same address.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = AuditRequestContext
    let proxies: TrustedProxies

    func handle(_ request: Request, context: AuditRequestContext, next: (Request, AuditRequestContext) async throws -> Response) async throws -> Response {
        guard !proxies.networks.isEmpty else { return try await next(request, context) }
        var context = context
        context.remoteAddress = proxies.client(peer: context.peerAddress, headers: request.headers)
        return try await next(request, context)
    }
}
