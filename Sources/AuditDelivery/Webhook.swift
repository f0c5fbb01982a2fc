import AsyncHTTPClient
import AuditModel
import AuditObjectStorage
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Posts one delivery notification to an operator's webhook, signed so the receiver can check that
/// it comes from this deployment: `X-CloudAudit-Signature: sha256=<hex HMAC-SHA256(secret, body)>`.
///
/// It makes exactly one attempt: the delivery service keeps the message in its outbox and retries
/// with backoff until a 2xx acknowledges it (receivers should dedupe on `X-CloudAudit-Message-Id`).
/// A redirect (3xx) is not followed and counts as not acknowledged.
public struct WebhookSender: Sendable {
    public static let signatureHeader = "X-CloudAudit-Signature"
    public static let messageIdHeader = "X-CloudAudit-Message-Id"
    /// The client used when none is given: no redirects, no decompression, no connection retries
    /// (the same one as ``S3ObjectStore/defaultHTTPClient``).
    public static let defaultHTTPClient: HTTPClient = S3ObjectStore.defaultHTTPClient

    private let httpClient: HTTPClient
    private let timeout: TimeAmount
    private let logger: Logger

    /// - Parameters:
    ///   - httpClient: a client passed in should not follow redirects, or a redirect to a page that
    ///     answers 200 would count as an acknowledgement.
    ///   - timeout: the limit of the whole exchange (connect, send, response).
    public init(httpClient: HTTPClient = WebhookSender.defaultHTTPClient, timeout: Duration = .seconds(10), logger: Logger) {
        self.httpClient = httpClient
        self.timeout = TimeAmount(timeout)
        self.logger = logger
    }

    /// POSTs `body` (JSON) to `url`.
    ///
    /// - Returns: true when the receiver answered 2xx (acknowledged), false for any other status.
    /// - Throws: ``WebhookError`` when the URL is invalid, the receiver cannot be reached or the
    ///   exchange exceeds the timeout. Its message names the receiver by scheme, host and port only,
    ///   since webhook paths often embed a token.
    ///   - headers: more headers (an alert's `X-CloudAudit-Alert-Id`), printable ASCII only.
    public func send(url: String, secret: [UInt8], body: [UInt8], messageId: String, headers: [(String, String)] = []) async throws -> Bool {
        let receiver = Self.receiverName(url)
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
              parsed.host?.isEmpty == false
        else {
            throw WebhookError("the notification URL of \(receiver) is not a valid http(s) URL")
        }
        guard !messageId.isEmpty, messageId.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
            throw WebhookError("the message id must be printable ASCII")
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "CloudAudit")
        request.headers.add(name: Self.signatureHeader, value: Self.signature(secret: secret, body: body))
        request.headers.add(name: Self.messageIdHeader, value: messageId)
        for (name, value) in headers where value.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) {
            request.headers.add(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await httpClient.execute(request, timeout: timeout, logger: logger)
            // Drain (and drop) the answer so the connection can be reused.
            for try await _ in response.body {}
            let acknowledged = (200..<300).contains(response.status.code)
            if !acknowledged {
                logger.debug("webhook not acknowledged", metadata: [
                    "webhook.receiver": "\(receiver)", "webhook.status": "\(response.status.code)", "webhook.message": "\(messageId)",
                ])
            }
            return acknowledged
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw WebhookError("could not deliver the notification to \(receiver): \(error)")
        }
    }

    /// The `X-CloudAudit-Signature` value of `body`: `sha256=` and the lower-case hex HMAC-SHA256 of
    /// the body under `secret`. Receivers recompute it over the raw body and compare in constant time.
    public static func signature(secret: [UInt8], body: [UInt8]) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: secret))
        return "sha256=" + Array(code).hexString
    }

    /// `scheme://host[:port]` of a URL, for messages; the path and query may hold a token.
    public static func receiverName(_ url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else {
            return "<invalid URL>"
        }
        return "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
    }
}

/// A webhook could not be reached (or its URL is unusable). The message never holds the URL's path,
/// query or the secret.
public struct WebhookError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
