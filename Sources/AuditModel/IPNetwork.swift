#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IP address as its bytes (4 for IPv4, 16 for IPv6), parsed from text with `inet_pton`.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// `text` as an address: dotted IPv4 or IPv6 (an IPv4-mapped IPv6 address is its IPv4 address);
    /// nil for anything else, including a port, brackets or a zone. Bounded: at most 64 bytes are read.
    public init?(_ text: some StringProtocol) {
        guard !text.isEmpty, text.utf8.count <= 64 else { return nil }
        let s = String(text)
        var v4 = in_addr()
        if inet_pton(AF_INET, s, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, s, &v6) == 1 else { return nil }
        let b = withUnsafeBytes(of: &v6) { Array($0) }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF {
            bytes = Array(b[12..<16])
        } else {
            bytes = b
        }
    }

    public var description: String {
        var out = [CChar](repeating: 0, count: 64)
        var copy = bytes
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        guard inet_ntop(family, &copy, &out, socklen_t(out.count)) != nil else { return "" }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A network in CIDR notation (`10.0.0.0/8`, `fd00::/8`; an address alone is its /32 or /128).
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// nil for text that is not an address with an optional `/length` in its family's range.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        let bits = address.bytes.count * 8
        if parts.count == 2 {
            guard let n = Int(parts[1]), parts[1].utf8.count <= 3, (0...bits).contains(n) else { return nil }
            prefixLength = n
        } else {
            prefixLength = bits
        }
        self.address = address
    }

    public func contains(_ a: IPAddress) -> Bool {
        guard a.bytes.count == address.bytes.count else { return false }
        var left = prefixLength
        for i in 0..<a.bytes.count where left > 0 {
            let take = min(8, left)
            let mask: UInt8 = take == 8 ? 0xFF : ~(0xFF >> UInt8(take))
            if a.bytes[i] & mask != address.bytes[i] & mask { return false }
            left -= take
        }
        return true
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
