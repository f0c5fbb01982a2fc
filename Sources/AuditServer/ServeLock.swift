import AuditModel
import Foundation

/// `<data-dir>/serve.lock`: one `serve` per data directory. The lock is an `flock` on the file, held
/// for the life of the process (the kernel drops it when the process ends, even by SIGKILL, so a stale
/// file never blocks a restart); the file says which process holds it. The admin commands do not take
/// it: they may work on the data directory while the server runs.
public final class ServeLock: Sendable {
    public let path: String
    private let descriptor: Int32

    /// Takes the lock of `directory`.
    /// - Throws: ``ServerError`` naming the directory and the process that holds it.
    public init(directory: DataDirectory) throws {
        path = (directory.path as NSString).appendingPathComponent("serve.lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw ServerError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.holder(fd)
            close(fd)
            throw ServerError("the data directory \(directory.path) is in use by another cloudaudit serve (\(holder)); "
                + "stop that one first, or give this one another --data-dir")
        }
        let text = "pid \(getpid()), started \(ISO8601DateFormatter().string(from: Date()))\n"
        _ = ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// What the file says of the process holding it ("pid 123, started ..."), at most a line of 200 bytes.
    static func holder(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 200)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 200, 0) }
        let line = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n").first.map(String.init) ?? "" : ""
        return line.hasPrefix("pid ") ? TextClip.scalars(line, 200, printable: true) : "a process that has not written its pid yet"
    }
}
