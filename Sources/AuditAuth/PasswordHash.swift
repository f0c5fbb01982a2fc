import AuditModel
import Crypto
import _CryptoExtras
import Foundation

/// Console passwords as slow salted hashes: `scrypt$N$r$p$<salt base64>$<hash base64>` (scrypt with
/// N = 2^15, r = 8, p = 1, a 16-byte random salt and a 32-byte output). The parameters are part of the
/// text, so stronger ones can be adopted later without breaking the stored hashes.
public enum PasswordHash {
    public static let rounds = 1 << 15
    public static let blockSize = 8
    public static let parallelism = 1
    /// Shorter passwords are refused by `accounts set-password`.
    public static let minimumLength = 12
    public static let maximumLength = 1024

    public struct Malformed: Error, CustomStringConvertible {
        public var description: String { "the stored password hash is not in the scrypt$N$r$p$salt$hash form" }
    }

    /// A new hash of `password` with a fresh salt.
    public static func make(_ password: String) throws -> String {
        let salt = CredentialGenerator.randomBytes(16)
        let hash = try derive(password, salt: salt, n: rounds, r: blockSize, p: parallelism)
        return "scrypt$\(rounds)$\(blockSize)$\(parallelism)$\(Data(salt).base64EncodedString())$\(Data(hash).base64EncodedString())"
    }

    /// Whether `password` matches `stored` (compared in constant time). Throws `Malformed` for a stored
    /// text that is not a hash of this form, or with parameters out of bounds.
    public static func verify(_ password: String, against stored: String) throws -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let n = Int(parts[1]), let r = Int(parts[2]), let p = Int(parts[3]),
              n >= 2, n <= 1 << 20, n & (n - 1) == 0, (1...32).contains(r), (1...16).contains(p),
              let salt = Data(base64Encoded: parts[4]), let expected = Data(base64Encoded: parts[5]), expected.count == 32
        else { throw Malformed() }
        guard password.utf8.count <= maximumLength else { return false }
        let got = try derive(password, salt: Array(salt), n: n, r: r, p: p)
        return constantTimeEquals(got, Array(expected))
    }

    static func derive(_ password: String, salt: [UInt8], n: Int, r: Int, p: Int) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(from: Array(password.utf8), salt: salt, outputByteCount: 32, rounds: n, blockSize: r, parallelism: p)
        return key.withUnsafeBytes { Array($0) }
    }
}
