/// 64-bit fingerprints of lookup values, keyed by the deployment's secret (SipHash-2-4).
///
/// Posting lists and hourly counts store a fingerprint instead of the value itself, so that every index
/// entry is a few integers whatever the value's length. The key is secret and per deployment, so
/// nobody can craft two values with the same fingerprint; accidental collisions among n distinct values
/// occur with probability about n²/2⁶⁵ (1e-8 for a million values).
public struct ValueFingerprint: Sendable {
    private let k0: UInt64
    private let k1: UInt64

    public init(secret: [UInt8]) {
        precondition(secret.count >= 16, "the fingerprint key needs 16 bytes")
        func word(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(secret[at + $1]) << (8 * UInt64($1)) } }
        k0 = word(0)
        k1 = word(8)
    }

    /// The fingerprint of `value` under `key` (the key is mixed in so equal strings of different keys differ).
    public func callAsFunction(_ key: Int, _ value: String) -> Int64 {
        var bytes = Array(value.utf8)
        bytes.append(UInt8(truncatingIfNeeded: key))
        return Int64(bitPattern: sipHash24(bytes))
    }

    func sipHash24(_ m: [UInt8]) -> UInt64 {
        var v0: UInt64 = 0x736f6d6570736575 ^ k0
        var v1: UInt64 = 0x646f72616e646f6d ^ k1
        var v2: UInt64 = 0x6c7967656e657261 ^ k0
        var v3: UInt64 = 0x7465646279746573 ^ k1
        @inline(__always) func round() {
            v0 &+= v1; v1 = (v1 << 13) | (v1 >> 51); v1 ^= v0; v0 = (v0 << 32) | (v0 >> 32)
            v2 &+= v3; v3 = (v3 << 16) | (v3 >> 48); v3 ^= v2
            v0 &+= v3; v3 = (v3 << 21) | (v3 >> 43); v3 ^= v0
            v2 &+= v1; v1 = (v1 << 17) | (v1 >> 47); v1 ^= v2; v2 = (v2 << 32) | (v2 >> 32)
        }
        let n = m.count
        var i = 0
        while i + 8 <= n {
            var w: UInt64 = 0
            for j in 0..<8 { w |= UInt64(m[i + j]) << (8 * UInt64(j)) }
            v3 ^= w; round(); round(); v0 ^= w
            i += 8
        }
        var last = UInt64(n & 0xff) << 56
        for j in 0..<(n - i) { last |= UInt64(m[i + j]) << (8 * UInt64(j)) }
        v3 ^= last; round(); round(); v0 ^= last
        v2 ^= 0xff
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}
