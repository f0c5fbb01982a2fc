import ArgumentParser
import AuditClient
import AuditConfiguration
import AuditDelivery
import AuditStore
import Foundation

/// An error the command has already put into words: printed as `Error: <message>` (one line, no usage),
/// then the process exits with `exitCode`.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    var exitCode: Int32
    init(_ message: String, exitCode: Int32 = 1) {
        description = message
        self.exitCode = exitCode
    }
}

/// A command whose failures exit with a status other than 1 (documented in its help).
protocol FailureStatus {
    /// The exit status of a failure that is not a usage error or a ``CommandFailure`` with its own.
    static var failureStatus: Int32 { get }
}

/// How every command ends on an error (docs/contract.md, "The command line"):
/// - a command line that does not parse, or an option out of its range (`ValidationError`): the message,
///   the usage, exit 64 (ArgumentParser's own);
/// - a setting refused by the configuration model, from any source: its message, exit 64;
/// - anything else that went wrong while running: `Error: <message>` on one line, no usage, exit 1 (or
///   the command's ``FailureStatus``, or the ``CommandFailure``'s own status).
enum Failures {
    /// The line and status for `error`, or nil when ArgumentParser reports it (usage errors, help, exit codes).
    static func explained(_ error: Error, by command: ParsableCommand.Type) -> (message: String, status: Int32)? {
        // ArgumentParser's own (help asked for inside `serve`'s settings, usage errors, exit codes).
        if String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") { return nil }
        let status = (command as? FailureStatus.Type)?.failureStatus ?? 1
        switch error {
        case let e as CommandFailure: return (e.description, e.exitCode)
        case let e as ConfigurationError: return (e.description, 64)
        case let e as StoreError: return (e.message, status)
        case let e as KmsError: return (e.message, status)
        case let e as APIErrorResponse: return (e.description, status)
        case let e as APIClientError: return (e.description, status)
        case let e as CustomStringConvertible: return (e.description, status)
        default: return ("\(error)", status)
        }
    }

    /// Writes `Error: <message>` to standard error, on one line.
    static func report(_ message: String) {
        FileHandle.standardError.write(Data("Error: \(message.replacingOccurrences(of: "\n", with: " "))\n".utf8))
    }
}

/// What `cloudaudit --version` prints, and the User-Agent of the CLI's own API calls.
enum CloudAuditRelease {
    static let versionLine = "\(APIClient.releaseVersion) (API \(APIClient.service) \(APIClient.version))"
    static let userAgent = "cloudaudit-cli/\(APIClient.releaseVersion)"
}
