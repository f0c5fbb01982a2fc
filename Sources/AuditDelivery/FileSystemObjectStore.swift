import Foundation
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An object store on the local disk: bucket `b` is the folder `<root>/b`, object `k` the file
/// `<root>/b/k` (a key's `/` separates folders). The built-in `local` region uses it.
///
/// Writes are atomic and durable: a `put` that returned survives a crash, and a reader never sees a
/// half-written file (temp file in the same folder, fsync, rename, fsync of the folder). `put` never
/// creates a bucket; only ``createBucket(_:)`` does (mode 0700). Keys with a `..` or `.` segment, an
/// empty segment, a leading `/` or a NUL byte are refused, so no key reaches outside its bucket.
/// Blocking file I/O runs on NIO's blocking thread pool, not on the caller's executor.
public struct FileSystemObjectStore: ObjectStore {
    /// The folder holding one folder per bucket.
    public let root: String

    /// The prefix of in-flight temporary files; `list` skips them and keys may not use it.
    static let temporaryPrefix = ".cloudaudit-tmp-"

    public init(root: String) {
        self.root = root
    }

    public func location(bucket: String, prefix: String) -> String {
        URL(fileURLWithPath: root).appendingPathComponent(bucket).appendingPathComponent(prefix).absoluteString
    }

    public func bucketExists(_ bucket: String) async throws -> Bool {
        let path = try bucketPath(bucket)
        return try await blocking { Self.isDirectory(path) }
    }

    /// Creates `<root>/<bucket>` (and `root` itself when missing), owner-only.
    /// - Throws: `.bucketAlreadyExists` when the folder exists.
    public func createBucket(_ bucket: String) async throws {
        let path = try bucketPath(bucket)
        let root = self.root
        try await blocking {
            try Self.makeDirectories(root)
            if mkdir(path, 0o700) != 0 {
                let code = errno
                if code == EEXIST { throw ObjectStoreError(.bucketAlreadyExists, "the bucket folder \(path) already exists") }
                throw Self.failure(code, "create the bucket folder \(path)")
            }
            try Self.syncDirectory(root)
        }
    }

    /// - Throws: `.noSuchBucket` when the bucket folder is missing; `.rejected` for an invalid key or
    ///   one that collides with a folder (`a/b` when `a/b/c` exists, or the reverse).
    public func put(bucket: String, key: String, body: [UInt8], contentType: String) async throws {
        let bucketPath = try bucketPath(bucket)
        let segments = try keySegments(key)
        try await blocking {
            guard Self.isDirectory(bucketPath) else { throw Self.noSuchBucket(bucketPath) }
            var directory = bucketPath
            for segment in segments.dropLast() {
                directory += "/" + segment
                try Self.makeDirectory(directory)
            }
            try Self.writeAtomically(body, directory: directory, name: segments[segments.count - 1])
        }
    }

    /// - Throws: `.noSuchBucket` when the bucket folder is missing.
    public func get(bucket: String, key: String) async throws -> [UInt8]? {
        let bucketPath = try bucketPath(bucket)
        let path = bucketPath + "/" + (try keySegments(key)).joined(separator: "/")
        return try await blocking {
            guard Self.isDirectory(bucketPath) else { throw Self.noSuchBucket(bucketPath) }
            return try Self.contents(of: path)
        }
    }

    /// Every key under `prefix`, in byte order of their UTF-8 (S3's order). Walks only the folder
    /// that the prefix names up to its last `/`.
    public func list(bucket: String, prefix: String) async throws -> [String] {
        let bucketPath = try bucketPath(bucket)
        return try await blocking {
            guard Self.isDirectory(bucketPath) else { throw Self.noSuchBucket(bucketPath) }
            // Start at the deepest folder the prefix fixes: "logs/2024/01" walks "<bucket>/logs/2024".
            let fixed = prefix.split(separator: "/", omittingEmptySubsequences: false).dropLast().map(String.init)
            guard !fixed.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else { return [] }
            var keys: [String] = []
            let start = fixed.isEmpty ? "" : fixed.joined(separator: "/") + "/"
            try Self.walk(bucketPath + "/" + start, keyPrefix: start, into: &keys)
            let prefixBytes = Array(prefix.utf8)
            return keys.filter { $0.utf8.starts(with: prefixBytes) }
                .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        }
    }

    // MARK: - Names

    private func bucketPath(_ bucket: String) throws -> String {
        guard !bucket.isEmpty, bucket != ".", bucket != "..", !bucket.contains("/"), !bucket.contains("\0") else {
            throw ObjectStoreError(.rejected, "'\(bucket)' is not a valid bucket name for a folder store")
        }
        return root + "/" + bucket
    }

    private func keySegments(_ key: String) throws -> [String] {
        let segments = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let invalid = key.isEmpty || key.contains("\0") || segments.contains {
            $0.isEmpty || $0 == "." || $0 == ".." || $0.hasPrefix(Self.temporaryPrefix)
        }
        guard !invalid else {
            throw ObjectStoreError(.rejected, "'\(key)' is not a valid object key: it must be relative, without empty, '.' or '..' segments")
        }
        return segments
    }

    // MARK: - File system

    private func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(work)
    }

    private static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// `mkdir -p` with mode 0700 for whatever is missing.
    private static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            try makeDirectory(current)
        }
    }

    /// Creates one folder (0700) unless it exists, and makes its entry durable.
    private static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o700) == 0 {
            try syncDirectory((path as NSString).deletingLastPathComponent)
            return
        }
        let code = errno
        guard code == EEXIST else { throw failure(code, "create the folder \(path)") }
        guard isDirectory(path) else {
            throw ObjectStoreError(.rejected, "\(path) is a file, so it cannot hold objects (a key uses it as a folder)")
        }
    }

    private static func writeAtomically(_ body: [UInt8], directory: String, name: String) throws {
        let target = directory + "/" + name
        let temporary = directory + "/" + temporaryPrefix + UUID().uuidString
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure(errno, "create a temporary file in \(directory)") }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            defer { close(fd) }
            try body.withUnsafeBytes { buffer in
                guard let base = buffer.baseAddress else { return }  // empty body
                var offset = 0
                while offset < buffer.count {
                    let written = write(fd, base + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw failure(errno, "write \(target)")
                    }
                    offset += written
                }
            }
            guard fsync(fd) == 0 else { throw failure(errno, "flush \(target) to disk") }
        }
        guard rename(temporary, target) == 0 else {
            let code = errno
            if code == EISDIR || code == ENOTEMPTY || code == EEXIST {
                throw ObjectStoreError(.rejected, "\(target) is a folder (another key uses it as a prefix), so it cannot be an object")
            }
            throw failure(code, "rename the temporary file to \(target)")
        }
        renamed = true
        try syncDirectory(directory)
    }

    private static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(errno, "open the folder \(path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure(errno, "flush the folder \(path) to disk") }
    }

    private static func contents(of path: String) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw failure(code, "open \(path)")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure(errno, "inspect \(path)") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return nil }  // a folder is not an object
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.st_size))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(errno, "read \(path)")
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// Appends the keys of every regular file below `directory`; `keyPrefix` is the key of `directory`.
    private static func walk(_ directory: String, keyPrefix: String, into keys: inout [String]) throws {
        guard let stream = opendir(directory) else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return }
            throw failure(code, "list the folder \(directory)")
        }
        defer { closedir(stream) }
        var entries: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." || name.hasPrefix(temporaryPrefix) { continue }
            entries.append(name)
        }
        for name in entries {
            var info = stat()
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            guard lstat(path, &info) == 0 else { continue }  // removed meanwhile
            switch info.st_mode & S_IFMT {
            case S_IFDIR: try walk(path, keyPrefix: keyPrefix + name + "/", into: &keys)
            case S_IFREG: keys.append(keyPrefix + name)
            default: continue  // symlinks, sockets...: not objects
            }
        }
    }

    // MARK: - Errors

    private static func noSuchBucket(_ path: String) -> ObjectStoreError {
        ObjectStoreError(.noSuchBucket, "the bucket folder \(path) does not exist; create the bucket first")
    }

    private static func failure(_ code: Int32, _ action: String) -> ObjectStoreError {
        let reason = String(cString: strerror(code))
        switch code {
        case EACCES, EPERM:
            return ObjectStoreError(.accessDenied, "could not \(action): \(reason); check the folder's owner and permissions")
        case ENOTDIR, EISDIR, ENAMETOOLONG, EINVAL:
            return ObjectStoreError(.rejected, "could not \(action): \(reason)")
        default:
            // ENOSPC, EIO, EROFS...: may clear up, so the delivery retries later.
            return ObjectStoreError(.unavailable, "could not \(action): \(reason)")
        }
    }
}
