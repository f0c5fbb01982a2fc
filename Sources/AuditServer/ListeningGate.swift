import Foundation
import NIOCore
import ServiceLifecycle
import Synchronization

/// Opens once the HTTP server listens. The background services (retention, checkpoints, delivery) wait
/// on it, so that a server that cannot listen (its port in use) stops before any of them has begun a
/// pass, and says only why it stopped.
final class ListeningGate: Sendable {
    private let isOpen = Mutex(false)

    func open() { isOpen.withLock { $0 = true } }

    /// Returns once the gate is open; throws `CancellationError` when the task is cancelled first.
    func wait() async throws {
        while !isOpen.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
    }
}

/// Runs `inner` once `gate` opens; returns without running it when the group stops first (the server
/// could not listen, or a signal came during start-up).
struct AfterListening: Service {
    let gate: ListeningGate
    let inner: any Service

    func run() async throws {
        do { try await cancelWhenGracefulShutdown { try await gate.wait() } } catch { return }
        try await inner.run()
    }
}

/// Runs a listener (an `Application`); a failure to bind becomes a ``ListenError`` that names the
/// address and the setting to change (`flag`).
struct ExplainedListener: Service {
    let inner: any Service
    let host: String
    let port: Int
    let flag: String

    func run() async throws {
        do { try await inner.run() } catch {
            throw ListenError.explaining(error, host: host, port: port, flag: flag) ?? error
        }
    }
}

/// The server could not listen on its address: a message that names the address and what to do.
public struct ListenError: Error, CustomStringConvertible, Sendable {
    public var description: String

    /// The message for `error` from binding `host:port`, or nil when it is not a bind failure.
    static func explaining(_ error: Error, host: String, port: Int, flag: String) -> ListenError? {
        guard let io = error as? IOError, "\(io)".contains("bind") else { return nil }
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let setting = flag + (ServerConfiguration.options.first { $0.flag == flag }?.environment.map { " (or \($0))" } ?? "")
        switch io.errnoCode {
        case EADDRINUSE:
            return ListenError(description: "cannot listen on \(address): the address is already in use (another cloudaudit, or another program, "
                + "listens there); stop it, or choose another port with \(setting)")
        case EACCES:
            return ListenError(description: "cannot listen on \(address): permission denied (ports below 1024 need privileges); "
                + "choose a port of 1024 or more with \(setting)")
        case EADDRNOTAVAIL:
            return ListenError(description: "cannot listen on \(address): no interface of this machine has that address; check --host")
        default:
            return ListenError(description: "cannot listen on \(address): \(String(cString: strerror(io.errnoCode)))")
        }
    }
}
