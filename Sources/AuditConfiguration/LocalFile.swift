import Foundation

/// Reads a local file whose size has a sane upper bound (a configuration, a key, a saved checkpoint), so
/// that a wrong path (a device, a log, a disk image) is refused with a message instead of being read
/// whole into memory.
public enum LocalFile {
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// What was read, with the permission bits of the file it was read from.
    public struct Contents: Sendable {
        public var bytes: [UInt8]
        public var mode: mode_t
    }

    /// The file's bytes, at most `limit` of them; nil when it does not exist or cannot be opened.
    /// - Throws: `Problem` when the file is larger than `limit` or is not a regular file.
    public static func read(_ path: String, limit: Int, what: String) throws -> [UInt8]? {
        try contents(path, limit: limit, what: what)?.bytes
    }

    /// `read`, with the mode of the very file that was opened (checked on its descriptor, so a file
    /// swapped between a check and the read cannot pass).
    public static func contents(_ path: String, limit: Int, what: String) throws -> Contents? {
        // Checked before opening too: opening a FIFO for reading waits for a writer.
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        guard info.st_mode & S_IFMT == S_IFREG else { throw Problem(description: "\(what) \(path) is not a regular file") }
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard fstat(handle.fileDescriptor, &info) == 0 else { return nil }
        guard info.st_mode & S_IFMT == S_IFREG else { throw Problem(description: "\(what) \(path) is not a regular file") }
        let data = try handle.read(upToCount: limit + 1) ?? Data()
        guard data.count <= limit else { throw Problem(description: "\(what) \(path) is larger than \(limit) bytes") }
        return Contents(bytes: Array(data), mode: info.st_mode)
    }
}
