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
/// Writes are atomic and durable: a `put` that returned survives a crash, and nobody (`list`, `get`,
/// or a person or program reading the bucket folder) ever sees a half-written or temporary file. The
/// body is written to a temporary file in the staging folder `<root>/.cloudaudit-tmp/` (beside the
/// buckets, never inside one, on the same file system), flushed (fsync), renamed to its key (atomic),
/// and the key's folder is flushed. Only when a bucket folder is on another file system than `root`
/// (a mount point or a symlink: rename fails with EXDEV), or `root` is not writable, does the
/// temporary file go into the key's own folder, under a hidden `.cloudaudit-tmp-` name that `list`
/// skips. Temporary files a crash left in the staging folder are removed once they are an hour old.
///
/// `put` never creates a bucket; only ``createBucket(_:)`` does (mode 0700). Keys with a `..` or `.`
/// segment, an empty segment, a leading `/`, a NUL byte or a `.cloudaudit-tmp-` segment are refused,
/// so no key reaches outside its bucket; the staging folder's name is not a bucket name. Blocking file
/// I/O runs on NIO's blocking thread pool, not on the caller's executor.
public struct FileSystemObjectStore: ObjectStore {
    /// The folder holding one folder per bucket (and the staging folder).
    public let root: String

    /// The folder under `root` where puts write their temporary files; refused as a bucket name.
    static let stagingFolder = ".cloudaudit-tmp"
    /// The name prefix of temporary files; `list` skips such names and keys may not use them.
    static let temporaryPrefix = ".cloudaudit-tmp-"
    /// Temporary files older than this in the staging folder are leftovers of a crash.
    static let staleTemporaryAge: TimeInterval = 3600

    /// Tests only: called on the writing thread once a put's temporary file is written and flushed,
    /// just before it is renamed to its key (`temporary`, `target`: their paths).
    var beforeRename: (@Sendable (_ temporary: String, _ target: String) -> Void)?

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
        let staging = stagingPath
        let hook = beforeRename
        try await blocking {
            guard Self.isDirectory(bucketPath) else { throw Self.noSuchBucket(bucketPath) }
            var directory = bucketPath
            for segment in segments.dropLast() {
                directory += "/" + segment
                try Self.makeDirectory(directory)
            }
            let target = directory + "/" + segments[segments.count - 1]
            do {
                try Self.prepareStaging(staging)
                try Self.writeAtomically(body, target: target, temporaryFolder: staging, beforeRename: hook)
            } catch is CrossDevice {
                // The bucket folder is on another file system: stage beside the target instead.
                try Self.writeAtomically(body, target: target, temporaryFolder: directory, beforeRename: hook)
            } catch let e as ObjectStoreError where e.kind == .accessDenied && Self.isDirectory(directory) {
                // `root` itself is not writable (buckets made by an operator): the same, beside the target.
                try Self.writeAtomically(body, target: target, temporaryFolder: directory, beforeRename: hook)
            }
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
    /// that the prefix names up to its last `/`. A key is listed only once its object is complete:
    /// objects appear by an atomic rename, and temporary files are never inside a bucket (or, beside
    /// the target when they must be, skipped by name).
    public func list(bucket: String, prefix: String) async throws -> [String] {
        let bucketPath = try bucketPath(bucket)
        return try await blocking { try Self.keys(bucketPath: bucketPath, prefix: prefix) }
    }

    /// `list`, on the calling thread.
    static func keys(bucketPath: String, prefix: String) throws -> [String] {
        guard isDirectory(bucketPath) else { throw noSuchBucket(bucketPath) }
        // Start at the deepest folder the prefix fixes: "logs/2024/01" walks "<bucket>/logs/2024".
        let fixed = prefix.split(separator: "/", omittingEmptySubsequences: false).dropLast().map(String.init)
        guard !fixed.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else { return [] }
        var keys: [String] = []
        let start = fixed.isEmpty ? "" : fixed.joined(separator: "/") + "/"
        try walk(bucketPath + "/" + start, keyPrefix: start, into: &keys)
        let prefixBytes = Array(prefix.utf8)
        return keys.filter { $0.utf8.starts(with: prefixBytes) }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    // MARK: - Names

    private func bucketPath(_ bucket: String) throws -> String {
        guard !bucket.isEmpty, bucket != ".", bucket != "..", !bucket.contains("/"), !bucket.contains("\0"),
              bucket != Self.stagingFolder else {
            throw ObjectStoreError(.rejected, "'\(bucket)' is not a valid bucket name for a folder store")
        }
        return root + "/" + bucket
    }

    /// `<root>/.cloudaudit-tmp`: where puts write before the rename.
    private var stagingPath: String { root + "/" + Self.stagingFolder }

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

    /// rename(2) said EXDEV: the temporary file is on another file system than its target.
    private struct CrossDevice: Error {}

    /// Creates the staging folder when missing and, once per process, removes what a crash left in it.
    private static func prepareStaging(_ staging: String) throws {
        if !isDirectory(staging) {
            if mkdir(staging, 0o700) != 0 {
                let code = errno
                if code != EEXIST { throw failure(code, "create the staging folder \(staging)") }
                guard isDirectory(staging) else {
                    throw ObjectStoreError(.rejected, "\(staging) is a file; the folder store writes its temporary files in a folder of that name")
                }
            } else {
                try syncDirectory((staging as NSString).deletingLastPathComponent)
            }
        }
        if sweptStagingFolders.insert(staging) { removeStaleTemporaryFiles(in: staging) }
    }

    /// The staging folders already swept by this process.
    private static let sweptStagingFolders = PathSet()

    final class PathSet: @unchecked Sendable {
        private let lock = NSLock()
        private var paths = Set<String>()
        /// True when `path` was not in the set yet.
        func insert(_ path: String) -> Bool { lock.withLock { paths.insert(path).inserted } }
    }

    /// Best effort: removes temporary files older than ``staleTemporaryAge`` (no write takes that long).
    private static func removeStaleTemporaryFiles(in staging: String) {
        guard let stream = opendir(staging) else { return }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasPrefix(temporaryPrefix) { names.append(name) }
        }
        closedir(stream)
        let cutoff = Date().timeIntervalSince1970 - staleTemporaryAge
        for name in names {
            var info = stat()
            let path = staging + "/" + name
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, TimeInterval(modificationTime(info)) < cutoff else { continue }
            unlink(path)
        }
    }

    private static func modificationTime(_ info: stat) -> Int {
        #if canImport(Darwin)
        return Int(info.st_mtimespec.tv_sec)
        #else
        return Int(info.st_mtim.tv_sec)
        #endif
    }

    /// Writes `body` to a new temporary file in `temporaryFolder`, flushes it, renames it to `target`
    /// and flushes the target's folder.
    /// - Throws: `CrossDevice` when `temporaryFolder` is on another file system than `target` (nothing
    ///   is left behind); `ObjectStoreError` otherwise.
    private static func writeAtomically(_ body: [UInt8], target: String, temporaryFolder: String,
                                        beforeRename: (@Sendable (String, String) -> Void)?) throws {
        let directory = (target as NSString).deletingLastPathComponent
        let temporary = temporaryFolder + "/" + temporaryPrefix + UUID().uuidString
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure(errno, "create a temporary file in \(temporaryFolder)") }
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
        beforeRename?(temporary, target)
        guard rename(temporary, target) == 0 else {
            let code = errno
            if code == EXDEV { throw CrossDevice() }
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
