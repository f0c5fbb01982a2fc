import AsyncHTTPClient
import AuditSigning
import Foundation
import NIOCore
import NIOHTTP1

/// A signed client for the CloudAudit API (Tencent Cloud API 3.0, product `cloudaudit`, version
/// `2019-03-19`).
///
/// Requests are built the way the official Python SDK builds them (`_build_req_with_tc3_signature`):
/// `POST /` with a JSON body, `Content-Type: application/json`, `Host` = the endpoint's host[:port],
/// the `X-TC-*` headers, and a TC3-HMAC-SHA256 `Authorization` over `content-type;host` and the
/// SHA-256 of the body. Any server that accepts the SDK accepts this client.
///
/// The SecretKey is used only to sign; it never appears in an error, a description or a log line.
public final class APIClient: Sendable {
    public static let service = "cloudaudit"
    public static let version = "2019-03-19"

    /// The largest response body accepted (a LookUpEvents page of 50 events of 256 KiB each fits).
    public static let maxResponseBytes = 64 * 1024 * 1024

    public let endpoint: String
    public let secretId: String
    public let region: String
    private let secretKey: String
    private let httpClient: HTTPClient
    private let url: String
    private let host: String
    private let timeout: TimeAmount
    private let userAgent: String

    /// The User-Agent of a client that names none: this library and its version.
    public static let defaultUserAgent = "cloudaudit-swift/\(releaseVersion)"
    /// The release of CloudAudit this client belongs to (the CLI's `--version`).
    public static let releaseVersion = "0.2.0"

    /// - Parameters:
    ///   - endpoint: `http://host[:port]` or `https://host[:port]` (a bare `host:port` means http);
    ///     a trailing `/` is allowed, any other path is not (TC3 signs the path `/`).
    ///   - timeoutSeconds: limit for one whole request, response body included.
    ///   - userAgent: sent as `User-Agent`, which the server records as the event's userAgent (the
    ///     CLI sends `cloudaudit-cli/<version>`).
    /// - Precondition: a malformed endpoint is reported by ``call(action:body:)`` as
    ///   ``APIClientError/badEndpoint(_:)``, so the initialiser itself never fails.
    public init(endpoint: String, secretId: String, secretKey: String, httpClient: HTTPClient = .shared,
                region: String = "ap-guangzhou", timeoutSeconds: Int64 = 120, userAgent: String = APIClient.defaultUserAgent) {
        self.endpoint = endpoint
        self.secretId = secretId
        self.secretKey = secretKey
        self.httpClient = httpClient
        self.region = region
        self.timeout = .seconds(timeoutSeconds)
        self.userAgent = userAgent
        if let parsed = Self.parse(endpoint: endpoint) {
            self.url = parsed.url
            self.host = parsed.host
        } else {
            self.url = ""
            self.host = ""
        }
    }

    /// Sends one action and returns the raw response body (the `{"Response": ...}` envelope).
    ///
    /// - Throws: ``APIClientError`` when the endpoint is malformed, the server cannot be reached, or it
    ///   answers with an HTTP status other than 200. API-level errors (`Response.Error`) are *not*
    ///   thrown here: they arrive in the body; ``callJSON(action:params:)`` turns them into ``APIErrorResponse``.
    public func call(action: String, body: [UInt8]) async throws -> [UInt8] {
        guard !url.isEmpty else { throw APIClientError.badEndpoint(endpoint) }
        var request = signedRequest(method: .POST, action: action, query: "", contentType: "application/json", body: body)
        request.body = .bytes(body)

        let response: HTTPClientResponse
        let bytes: [UInt8]
        do {
            response = try await httpClient.execute(request, timeout: timeout)
            let buffer = try await response.body.collect(upTo: Self.maxResponseBytes)
            bytes = Array(buffer.readableBytesView)
        } catch let error as APIClientError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw APIClientError.transport(endpoint: endpoint, action: action, reason: Self.describe(error))
        }
        guard response.status == .ok else {
            throw APIClientError.httpStatus(code: Int(response.status.code), reason: response.status.reasonPhrase,
                                            action: action, body: Self.snippet(bytes))
        }
        return bytes
    }

    /// Serialises `params` as the JSON body, sends `action`, and returns the object inside `Response`
    /// (including its `RequestId`).
    ///
    /// - Throws: ``APIErrorResponse`` when the response carries `Response.Error`; ``APIClientError`` for
    ///   parameters that cannot be JSON, transport failures, non-200 statuses and malformed responses.
    public func callJSON(action: String, params: [String: Any]) async throws -> [String: Any] {
        guard JSONSerialization.isValidJSONObject(params) else {
            throw APIClientError.invalidParameters(action: action)
        }
        let body = try JSONSerialization.data(withJSONObject: params)
        let bytes = try await call(action: action, body: Array(body))
        return try Self.unwrap(bytes, action: action)
    }

    /// Decodes a `{"Response": {...}}` envelope, throwing its `Error` as an ``APIErrorResponse``.
    public static func unwrap(_ bytes: [UInt8], action: String) throws -> [String: Any] {
        guard let top = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any],
              let response = top["Response"] as? [String: Any]
        else {
            throw APIClientError.invalidResponse(action: action, body: snippet(bytes))
        }
        if let error = response["Error"] as? [String: Any] {
            throw APIErrorResponse(code: error["Code"] as? String ?? "InternalError",
                           message: error["Message"] as? String ?? "",
                           requestId: response["RequestId"] as? String ?? "")
        }
        return response
    }

    // MARK: - Streams

    /// The client of streams: a connection that sends nothing for this long (the server's heartbeats
    /// come every 15 s at most) is taken for dead.
    public static let streamIdleTimeout: TimeAmount = .seconds(45)
    static let streamingHTTPClient = HTTPClient(eventLoopGroupProvider: .singleton,
                                                configuration: .init(timeout: .init(connect: .seconds(10), read: streamIdleTimeout)))

    /// Opens `action` as a signed GET (TC3 over the query string, as the SDKs sign a GET) that answers
    /// with server-sent events, and hands each message to `onEvent` until the server ends the stream
    /// (then it returns), `onEvent` returns false, or the connection fails.
    ///
    /// - Parameters:
    ///   - query: the action's parameters (`LookupAttributes.0.AttributeKey`...), percent-encoded here.
    ///   - lastEventId: sent as `Last-Event-ID`, to resume after the message with that id.
    /// - Returns: the stream's last event id (to resume from).
    /// - Throws: ``APIErrorResponse`` when the server refused the call; ``APIClientError`` when it cannot
    ///   be reached, answers something else than a stream, or goes silent; ``ServerSentEventsError``.
    @discardableResult
    public func stream(action: String, query: [(String, String)], lastEventId: String?,
                       onEvent: (ServerSentEvent) async throws -> Bool) async throws -> String {
        guard !url.isEmpty else { throw APIClientError.badEndpoint(endpoint) }
        let queryString = query.map { Self.percentEncoded($0.0) + "=" + Self.percentEncoded($0.1) }.joined(separator: "&")
        let request = signedRequest(method: .GET, action: action, query: queryString, contentType: "application/x-www-form-urlencoded", body: [],
                                    extraHeaders: [("Accept", "text/event-stream")] + (lastEventId.map { $0.isEmpty ? [] : [("Last-Event-ID", $0)] } ?? []))
        var parser = ServerSentEventParser()
        do {
            let response = try await Self.streamingHTTPClient.execute(request, timeout: .hours(24))
            let type = response.headers.first(name: "Content-Type") ?? ""
            guard response.status == .ok, type.hasPrefix("text/event-stream") else {
                let bytes = Array(try await response.body.collect(upTo: 1 << 20).readableBytesView)
                if response.status == .ok { _ = try Self.unwrap(bytes, action: action) }
                throw APIClientError.httpStatus(code: Int(response.status.code), reason: response.status.reasonPhrase, action: action, body: Self.snippet(bytes))
            }
            for try await chunk in response.body {
                for message in try parser.feed(chunk.readableBytesView) {
                    if try await !onEvent(message) { return parser.lastEventId }
                }
            }
        } catch let error as APIClientError {
            throw error
        } catch let error as APIErrorResponse {
            throw error
        } catch let error as ServerSentEventsError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw APIClientError.transport(endpoint: endpoint, action: action, reason: Self.describe(error))
        }
        return parser.lastEventId
    }

    /// A request to `/` (with `query`) signed with TC3 over `content-type;host` and the SHA-256 of `body`,
    /// with the API's `X-TC-*` headers; the body itself is set by the caller.
    private func signedRequest(method: HTTPMethod, action: String, query: String, contentType: String, body: [UInt8],
                               extraHeaders: [(String, String)] = []) -> HTTPClientRequest {
        let timestamp = Int64(Date().timeIntervalSince1970)
        let signing = TC3Signer.Request(
            method: method.rawValue, uri: "/", query: query,
            signedHeaders: [(name: "content-type", value: contentType), (name: "host", value: host)],
            payloadHash: TC3Signer.hexSHA256(body), timestamp: timestamp, service: Self.service)
        var request = HTTPClientRequest(url: url + (query.isEmpty ? "" : "?" + query))
        request.method = method
        request.headers.add(name: "Content-Type", value: contentType)
        request.headers.add(name: "Host", value: host)
        request.headers.add(name: "X-TC-Action", value: action)
        request.headers.add(name: "X-TC-Timestamp", value: String(timestamp))
        request.headers.add(name: "X-TC-Version", value: Self.version)
        request.headers.add(name: "X-TC-Region", value: region)
        request.headers.add(name: "X-TC-RequestClient", value: "cloudaudit-swift")
        request.headers.add(name: "User-Agent", value: userAgent)
        for (name, value) in extraHeaders { request.headers.add(name: name, value: value) }
        request.headers.add(name: "Authorization", value: TC3Signer.authorization(signing, secretId: secretId, secretKey: secretKey))
        return request
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters (what the SDKs send).
    static func percentEncoded(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out += String(format: "%%%02X", b)
            }
        }
        return out
    }

    // MARK: - Endpoint

    /// Whether `endpoint` has a form ``call(action:body:)`` accepts (`http(s)://host[:port]`).
    public static func isValid(endpoint: String) -> Bool { parse(endpoint: endpoint) != nil }

    /// Splits an endpoint into the request URL (always path `/`) and the `Host` header value.
    static func parse(endpoint: String) -> (url: String, host: String)? {
        var text = endpoint.trimmingCharacters(in: .whitespaces)
        if !text.contains("://") { text = "http://" + text }
        guard let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              var hostName = components.host, !hostName.isEmpty,
              components.path.isEmpty || components.path == "/",
              components.query == nil, components.fragment == nil, components.user == nil, components.password == nil
        else { return nil }
        if hostName.contains(":") && !hostName.hasPrefix("[") { hostName = "[\(hostName)]" }  // IPv6 literal
        let host = components.port.map { "\(hostName):\($0)" } ?? hostName
        return ("\(scheme)://\(host)/", host)
    }

    // MARK: - Messages (never include headers: they carry the signature)

    static func snippet(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.prefix(300), as: UTF8.self)
        let oneLine = text.replacingOccurrences(of: "\n", with: " ")
        return bytes.count > 300 ? oneLine + "..." : oneLine
    }

    static func describe(_ error: Error) -> String {
        if let e = error as? HTTPClientError {
            switch e {
            case .connectTimeout: return "connection timed out"
            case .deadlineExceeded, .readTimeout, .writeTimeout: return "request timed out"
            case .remoteConnectionClosed: return "the server closed the connection"
            default: return String(describing: e)
            }
        }
        if error is NIOTooManyBytesError { return "the response is larger than \(maxResponseBytes) bytes" }
        let text = String(describing: error)
        if text.contains("Connection refused") { return "connection refused (is the server running?)" }
        return text
    }
}

extension APIClient: CustomStringConvertible, CustomReflectable {
    public var description: String { "APIClient(endpoint: \(endpoint), secretId: \(secretId), region: \(region))" }

    /// Keeps the SecretKey out of `dump`, debuggers and string interpolation.
    public var customMirror: Mirror {
        Mirror(self, children: ["endpoint": endpoint, "secretId": secretId, "region": region], displayStyle: .class)
    }
}

/// An error the API returned in `Response.Error` (the request reached the server and was refused).
public struct APIErrorResponse: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// The dotted code, e.g. `AuthFailure.SignatureFailure`, `InvalidParameterValue.MaxResult`.
    public var code: String
    public var message: String
    public var requestId: String

    public init(code: String, message: String, requestId: String) {
        self.code = code
        self.message = message
        self.requestId = requestId
    }

    public var description: String {
        requestId.isEmpty ? "\(code): \(message)" : "\(code): \(message) (RequestId \(requestId))"
    }

    public var errorDescription: String? { description }
}

/// Failures below the API: bad endpoint, unreachable server, non-200 status, unreadable response.
public enum APIClientError: Error, Sendable, CustomStringConvertible, LocalizedError {
    case badEndpoint(String)
    case transport(endpoint: String, action: String, reason: String)
    case httpStatus(code: Int, reason: String, action: String, body: String)
    case invalidResponse(action: String, body: String)
    case invalidParameters(action: String)

    public var description: String {
        switch self {
        case .badEndpoint(let e):
            return "invalid endpoint \"\(e)\": expected http://host[:port] or https://host[:port] without a path"
        case .transport(let endpoint, let action, let reason):
            return "\(action): cannot reach \(endpoint): \(reason)"
        case .httpStatus(let code, let reason, let action, let body):
            return "\(action): the server answered HTTP \(code) \(reason)" + (body.isEmpty ? "" : ": \(body)")
        case .invalidResponse(let action, let body):
            return "\(action): the response is not a {\"Response\": {...}} JSON envelope" + (body.isEmpty ? "" : ": \(body)")
        case .invalidParameters(let action):
            return "\(action): the parameters cannot be encoded as a JSON object"
        }
    }

    public var errorDescription: String? { description }
}
