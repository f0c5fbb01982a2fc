import Foundation

/// Files that hold a secret (a credentials file, a webhook secret, a console password): read only when
/// no one but their owner may read them.
public enum SecretFile {
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The file's bytes. Refuses a file that cannot be read, or that its group or others may read;
    /// `what` names the file in the message (e.g. "--password-file").
    public static func read(_ path: String, what: String) throws -> [UInt8] {
        let file: LocalFile.Contents?
        do { file = try LocalFile.contents(path, limit: maxBytes, what: what) } catch { throw Problem(description: "\(error)") }
        guard let file else { throw Problem(description: "\(what) \(path) cannot be read") }
        guard file.mode & 0o077 == 0 else {
            throw Problem(description: "\(what) \(path) is readable by others (mode \(String(file.mode & 0o777, radix: 8))); chmod 600 it")
        }
        return file.bytes
    }

    /// Secrets are short: a key, a password, credentials.
    public static let maxBytes = 64 * 1024
}
