import AsyncHTTPClient
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Logging
import NIOCore
import NIOHTTP1

/// An S3-compatible object store (Tencent COS, AWS S3, MinIO, Ceph, moto) reached over HTTP with
/// Signature Version 4 (``SigV4``).
///
/// Every request is signed with `x-amz-content-sha256` (the SHA-256 of its body) and `x-amz-date`.
/// 5xx answers, 408/429, timeouts and connection failures are retried by ``RetryPolicy`` (exponential
/// backoff, full jitter) and then reported as `.unavailable`; the store's XML error `<Code>` decides
/// the other kinds. Error messages name the endpoint, bucket, key and the store's code and message,
/// never a credential, a signature or the `Authorization` header.
///
/// Objects from ``multipartThreshold`` bytes up are uploaded in parts of ``partSize`` bytes
/// (CreateMultipartUpload, UploadPart, CompleteMultipartUpload), and the upload is aborted when a step
/// fails. S3 wants parts of at least 5 MiB except the last.
public final class S3ObjectStore: ObjectStore {
    /// Where the bucket goes in the URL.
    public enum Addressing: String, Sendable {
        /// `http://host:port/bucket/key` (MinIO, Ceph, moto; AWS still accepts it).
        case path
        /// `https://bucket.host/key` (COS, AWS). With https, a bucket name holding a `.` fails the
        /// certificate check of most services.
        case virtualHost = "virtual-host"
    }

    /// How failed requests (5xx, 408, 429, timeouts, connection errors) are retried.
    public struct RetryPolicy: Sendable, Equatable {
        /// Attempts in all, the first included (1 = no retry).
        public var maxAttempts: Int
        /// The backoff ceiling after the first failure; it doubles after each further one.
        public var baseDelay: Duration
        /// The largest backoff ceiling.
        public var maxDelay: Duration

        public init(maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(5)) {
            self.maxAttempts = max(1, maxAttempts)
            self.baseDelay = baseDelay
            self.maxDelay = maxDelay
        }

        /// `min(maxDelay, baseDelay * 2^(attempt - 1))`: the ceiling of the wait after attempt `attempt` (1-based).
        public func ceiling(afterAttempt attempt: Int) -> Duration {
            let doublings = min(max(attempt - 1, 0), 30)
            return min(maxDelay, baseDelay * (1 << doublings))
        }

        /// The wait after attempt `attempt`: uniformly random in `0...ceiling` ("full jitter"), so
        /// many clients failing together do not retry together.
        public func delay(afterAttempt attempt: Int) -> Duration {
            let ceiling = Self.nanoseconds(ceiling(afterAttempt: attempt))
            return .nanoseconds(ceiling > 0 ? Int64.random(in: 0...ceiling) : 0)
        }

        private static func nanoseconds(_ duration: Duration) -> Int64 {
            let (seconds, attoseconds) = duration.components
            let (nanos, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
            return overflow ? .max : max(0, nanos.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue)
        }
    }

    /// The largest object ``get(bucket:key:)`` reads into memory.
    public static let maxObjectBytes = 1 << 30
    /// S3's limit on the number of parts of one upload.
    static let maxParts = 10_000

    /// `scheme://host[:port]`, for messages and logs.
    public let endpoint: String
    public let addressing: Addressing
    public let signingRegion: String
    public let multipartThreshold: Int
    public let partSize: Int
    /// `max-keys` of each ListObjectsV2 page (1...1000).
    public let listPageSize: Int
    public let retry: RetryPolicy

    private let scheme: String
    /// The host as written in URLs and the `Host` header (IPv6 in brackets), without the port.
    private let host: String
    /// The port when it is not the scheme's default.
    private let port: Int?
    private let credentials: S3Credentials
    private let httpClient: HTTPClient
    private let logger: Logger

    /// - Parameters:
    ///   - endpoint: `scheme://host[:port]`, e.g. `https://cos.ap-guangzhou.myqcloud.com` or `http://127.0.0.1:5055`.
    ///   - signingRegion: the region of the signature's credential scope (`us-east-1` for MinIO/moto by default).
    ///   - httpClient: see ``defaultHTTPClient`` for why it is not `HTTPClient.shared`. A client passed
    ///     in should likewise not follow redirects nor decompress responses.
    ///   - multipartThreshold: bodies of at least this many bytes go up in parts.
    ///   - partSize: bytes per part (raised if an object would need more than 10,000 parts).
    ///   - listPageSize: keys per ListObjectsV2 page, 1...1000.
    /// - Throws: `ObjectStoreError.rejected` when `endpoint` is not such a URL.
    public init(
        endpoint: String, addressing: Addressing = .virtualHost, signingRegion: String, credentials: S3Credentials,
        httpClient: HTTPClient = S3ObjectStore.defaultHTTPClient, multipartThreshold: Int = 8 << 20, partSize: Int = 8 << 20, listPageSize: Int = 1000,
        retry: RetryPolicy = RetryPolicy(), logger: Logger
    ) throws {
        precondition(multipartThreshold > 0 && partSize > 0, "multipartThreshold and partSize must be positive")
        precondition((1...1000).contains(listPageSize), "listPageSize must be in 1...1000")
        let parsed = try Self.parseEndpoint(endpoint)
        self.scheme = parsed.scheme
        self.host = parsed.host
        self.port = parsed.port
        self.endpoint = "\(parsed.scheme)://\(parsed.host)" + (parsed.port.map { ":\($0)" } ?? "")
        self.addressing = addressing
        self.signingRegion = signingRegion
        self.credentials = credentials
        self.httpClient = httpClient
        self.multipartThreshold = multipartThreshold
        self.partSize = partSize
        self.listPageSize = listPageSize
        self.retry = retry
        self.logger = logger
    }

    // MARK: - ObjectStore

    /// HEAD bucket: 2xx is true, 404 false.
    /// - Throws: `.accessDenied` on 403, `.unavailable` when the store cannot answer.
    public func bucketExists(_ bucket: String) async throws -> Bool {
        let operation = "check bucket '\(bucket)'"
        let response = try await perform(S3Request(method: .HEAD, bucket: try checked(bucket)), operation)
        switch response.status {
        case 200..<300: return true
        case 404: return false
        default: throw failure(response, operation)
        }
    }

    /// PUT bucket, with a `LocationConstraint` unless the signing region is `us-east-1`.
    ///
    /// It first checks that the bucket is absent: AWS's us-east-1 (and moto) answer 200 when one
    /// re-creates a bucket one owns, and the contract wants `.bucketAlreadyExists` then.
    /// - Throws: `.bucketAlreadyExists` when it exists (ours or another account's).
    public func createBucket(_ bucket: String) async throws {
        let operation = "create bucket '\(bucket)'"
        let bucket = try checked(bucket)
        let head = try await perform(S3Request(method: .HEAD, bucket: bucket), operation)
        if (200..<300).contains(head.status) {
            throw ObjectStoreError(.bucketAlreadyExists, "\(endpoint): could not \(operation): the bucket already exists. Use it, or choose another name.")
        }
        var request = S3Request(method: .PUT, bucket: bucket)
        if signingRegion != "us-east-1" {
            let configuration = #"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#
                + "<LocationConstraint>\(Self.escapeXML(signingRegion))</LocationConstraint></CreateBucketConfiguration>"
            request.body = ArraySlice(configuration.utf8)
            request.contentType = "application/xml"
        }
        let response = try await perform(request, operation)
        guard (200..<300).contains(response.status) else { throw failure(response, operation) }
        logger.debug("created bucket", metadata: ["s3.endpoint": "\(endpoint)", "s3.bucket": "\(bucket)"])
    }

    /// PUT object, or a multipart upload from ``multipartThreshold`` bytes up.
    /// - Throws: `.noSuchBucket` when the bucket is missing (never creates it).
    public func put(bucket: String, key: String, body: [UInt8], contentType: String) async throws {
        let bucket = try checked(bucket)
        let key = try checked(key: key)
        if body.count < multipartThreshold {
            let operation = "write object '\(key)' to bucket '\(bucket)'"
            var request = S3Request(method: .PUT, bucket: bucket, key: key, body: body[...])
            request.contentType = contentType
            let response = try await perform(request, operation)
            guard (200..<300).contains(response.status) else { throw failure(response, operation) }
        } else {
            try await putMultipart(bucket: bucket, key: key, body: body, contentType: contentType)
        }
        logger.debug("wrote object", metadata: [
            "s3.endpoint": "\(endpoint)", "s3.bucket": "\(bucket)", "s3.key": "\(key)", "s3.bytes": "\(body.count)",
        ])
    }

    /// GET object.
    /// - Returns: nil when the key does not exist.
    /// - Throws: `.noSuchBucket` when the bucket is missing; `.rejected` when the object is larger
    ///   than ``maxObjectBytes``.
    public func get(bucket: String, key: String) async throws -> [UInt8]? {
        let operation = "read object '\(key)' from bucket '\(bucket)'"
        var request = S3Request(method: .GET, bucket: try checked(bucket), key: try checked(key: key))
        request.timeout = .seconds(300)
        request.responseLimit = Self.maxObjectBytes
        let response = try await perform(request, operation)
        switch response.status {
        case 200..<300:
            return response.body
        case 404 where S3ErrorBody(response.body)?.code != "NoSuchBucket":
            return nil
        default:
            throw failure(response, operation)
        }
    }

    /// ListObjectsV2, following continuation tokens to the end.
    public func list(bucket: String, prefix: String) async throws -> [String] {
        let operation = "list bucket '\(bucket)'" + (prefix.isEmpty ? "" : " under '\(prefix)'")
        let bucket = try checked(bucket)
        var keys: [String] = []
        var token: String?
        repeat {
            var query: [(name: String, value: String)] = [("list-type", "2"), ("max-keys", String(listPageSize))]
            if !prefix.isEmpty { query.append(("prefix", prefix)) }
            if let token { query.append(("continuation-token", token)) }
            let response = try await perform(S3Request(method: .GET, bucket: bucket, query: query), operation)
            guard (200..<300).contains(response.status) else { throw failure(response, operation) }
            guard let page = S3XMLDocument(response.body), page.root == "ListBucketResult" else {
                throw ObjectStoreError(.rejected, "\(endpoint): could not \(operation): the answer is not a ListObjectsV2 result. Check that the endpoint is an S3-compatible service.")
            }
            keys += page.values("ListBucketResult/Contents/Key")
            if page.value("ListBucketResult/IsTruncated") == "true" {
                guard let next = page.value("ListBucketResult/NextContinuationToken"), !next.isEmpty, next != token else {
                    throw ObjectStoreError(.rejected, "\(endpoint): could not \(operation): a truncated page has no new continuation token.")
                }
                token = next
            } else {
                token = nil
            }
        } while token != nil
        return keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    // MARK: - Multipart upload

    private func putMultipart(bucket: String, key: String, body: [UInt8], contentType: String) async throws {
        let operation = "write object '\(key)' to bucket '\(bucket)' (multipart upload)"
        var create = S3Request(method: .POST, bucket: bucket, key: key, query: [("uploads", "")])
        create.contentType = contentType
        let created = try await perform(create, operation)
        guard (200..<300).contains(created.status) else { throw failure(created, operation) }
        guard let uploadId = S3XMLDocument(created.body)?.value("InitiateMultipartUploadResult/UploadId"), !uploadId.isEmpty else {
            throw ObjectStoreError(.rejected, "\(endpoint): could not \(operation): CreateMultipartUpload answered without an UploadId.")
        }
        do {
            let size = max(partSize, (body.count + Self.maxParts - 1) / Self.maxParts)
            var parts: [(number: Int, etag: String)] = []
            for (index, start) in stride(from: 0, to: body.count, by: size).enumerated() {
                let number = index + 1
                let partOperation = "\(operation), part \(number)"
                let request = S3Request(
                    method: .PUT, bucket: bucket, key: key, query: [("partNumber", String(number)), ("uploadId", uploadId)],
                    body: body[start..<min(start + size, body.count)])
                let response = try await perform(request, partOperation)
                guard (200..<300).contains(response.status) else { throw failure(response, partOperation) }
                guard let etag = response.headers.first(name: "ETag"), !etag.isEmpty else {
                    throw ObjectStoreError(.rejected, "\(endpoint): could not \(partOperation): UploadPart answered without an ETag.")
                }
                parts.append((number, etag))
            }
            let manifest = "<CompleteMultipartUpload>" + parts.map {
                "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(Self.escapeXML($0.etag))</ETag></Part>"
            }.joined() + "</CompleteMultipartUpload>"
            var complete = S3Request(method: .POST, bucket: bucket, key: key, query: [("uploadId", uploadId)], body: ArraySlice(manifest.utf8))
            complete.contentType = "application/xml"
            complete.errorMayComeWith200 = true
            let completed = try await perform(complete, operation)
            guard (200..<300).contains(completed.status) else { throw failure(completed, operation) }
        } catch {
            await abortMultipart(bucket: bucket, key: key, uploadId: uploadId)
            throw error
        }
    }

    /// AbortMultipartUpload, so the parts stop costing storage. Best effort: a failure is logged (the
    /// bucket's lifecycle rule for incomplete uploads is the safety net). It runs in its own task so
    /// that it still goes out when the upload failed because the caller's task was cancelled.
    private func abortMultipart(bucket: String, key: String, uploadId: String) async {
        let abort = Task {
            let operation = "abort the multipart upload of '\(key)' in bucket '\(bucket)'"
            do {
                let response = try await self.perform(
                    S3Request(method: .DELETE, bucket: bucket, key: key, query: [("uploadId", uploadId)]), operation)
                if !(200..<300).contains(response.status) && response.status != 404 {
                    throw self.failure(response, operation)
                }
            } catch {
                self.logger.warning("could not abort a multipart upload", metadata: [
                    "s3.endpoint": "\(self.endpoint)", "s3.bucket": "\(bucket)", "s3.key": "\(key)", "error.message": "\(error)",
                ])
            }
        }
        await abort.value
    }

    // MARK: - Requests

    /// Sends `request`, retrying 5xx/408/429 answers and transport failures per ``retry``.
    /// - Returns: the last answer, whatever its status (callers classify it with `failure`).
    /// - Throws: `.unavailable` when every attempt failed in transport, `.rejected` for an oversized answer.
    private func perform(_ request: S3Request, _ operation: String) async throws -> S3Response {
        let payloadHash = SigV4.hexSHA256(request.body)
        var attempt = 0
        while true {
            attempt += 1
            let problem: String
            do {
                var response = try await send(request, payloadHash: payloadHash)
                response.attempts = attempt
                guard Self.isRetryable(response.status), attempt < retry.maxAttempts else { return response }
                problem = "HTTP \(response.status)" + (S3ErrorBody(response.body)?.code.map { " \($0)" } ?? "")
            } catch let error as ObjectStoreError {
                throw error
            } catch {
                if error is CancellationError || Task.isCancelled { throw CancellationError() }
                let reason = redact(Self.describe(error))
                guard attempt < retry.maxAttempts else {
                    throw ObjectStoreError(.unavailable, "\(endpoint): could not \(operation): \(reason) (\(attempt) attempts). Check that the endpoint is right and the store is up; delivery retries later.")
                }
                problem = reason
            }
            let delay = retry.delay(afterAttempt: attempt)
            logger.debug("S3 request failed; retrying", metadata: [
                "s3.endpoint": "\(endpoint)", "s3.operation": "\(operation)", "s3.attempt": "\(attempt)",
                "s3.problem": "\(problem)", "s3.retry_in": "\(delay)",
            ])
            try await Task.sleep(for: delay)
        }
    }

    /// One signed exchange.
    private func send(_ request: S3Request, payloadHash: String) async throws -> S3Response {
        let (hostHeader, path) = target(bucket: request.bucket, key: request.key)
        let date = Date()
        var headers: [(name: String, value: String)] = [
            ("host", hostHeader), ("x-amz-content-sha256", payloadHash), ("x-amz-date", SigV4.timestamp(date)),
        ]
        if let token = credentials.sessionToken { headers.append(("x-amz-security-token", token)) }
        if let contentType = request.contentType { headers.append(("content-type", contentType)) }
        let signature = SigV4.sign(
            method: request.method.rawValue, path: path, query: request.query, headers: headers, payloadHash: payloadHash,
            accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, region: signingRegion,
            service: "s3", date: date)

        var http = HTTPClientRequest(url: "\(scheme)://\(hostHeader)\(SigV4.encodePath(path))\(Self.urlQuery(request.query))")
        http.method = request.method
        for header in headers { http.headers.add(name: header.name, value: header.value) }
        http.headers.add(name: "Authorization", value: signature.authorization)
        if !request.body.isEmpty || request.method == .PUT || request.method == .POST {
            http.body = .bytes(ByteBuffer(bytes: request.body))
        }
        let timeout = request.timeout ?? .seconds(30 + Int64(request.body.count / (256 * 1024)))
        let response = try await httpClient.execute(http, timeout: timeout, logger: logger)
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: request.responseLimit)
        } catch is NIOTooManyBytesError {
            throw ObjectStoreError(.rejected, "\(endpoint): the answer for '\(request.key ?? request.bucket)' is larger than \(request.responseLimit) bytes.")
        }
        var status = Int(response.status.code)
        let bytes = Array(body.readableBytesView)
        // CompleteMultipartUpload may fail after answering 200: the error is then in the body.
        if request.errorMayComeWith200, (200..<300).contains(status), S3XMLDocument(bytes)?.root == "Error" {
            status = 500
        }
        return S3Response(status: status, headers: response.headers, body: bytes)
    }

    public func location(bucket: String, prefix: String) -> String {
        let t = target(bucket: bucket, key: prefix.isEmpty ? nil : prefix)
        return scheme + "://" + t.host + t.path
    }

    /// The `Host` header and the decoded path of a request, per ``addressing``.
    func target(bucket: String, key: String?) -> (host: String, path: String) {
        let authority = host + (port.map { ":\($0)" } ?? "")
        switch addressing {
        case .path:
            return (authority, "/" + bucket + (key.map { "/" + $0 } ?? ""))
        case .virtualHost:
            return (bucket + "." + authority, "/" + (key ?? ""))
        }
    }

    /// The query as sent: encoded like the canonical query, with `?uploads` rather than `?uploads=`.
    static func urlQuery(_ items: [(name: String, value: String)]) -> String {
        guard !items.isEmpty else { return "" }
        return "?" + items.map { $0.value.isEmpty ? SigV4.encode($0.name) : SigV4.encode($0.name) + "=" + SigV4.encode($0.value) }
            .joined(separator: "&")
    }

    private static func isRetryable(_ status: Int) -> Bool {
        status >= 500 || status == 408 || status == 429
    }

    // MARK: - Errors

    /// The `ObjectStoreError` of a final non-2xx answer, from its status and S3 error `<Code>`.
    private func failure(_ response: S3Response, _ operation: String) -> ObjectStoreError {
        let error = S3ErrorBody(response.body)
        let code = error?.code ?? ""
        let kind: ObjectStoreError.Kind
        let advice: String
        switch (response.status, code) {
        case (_, "NoSuchBucket"):
            (kind, advice) = (.noSuchBucket, "Create the bucket, or check its name and the region's endpoint.")
        case (_, "BucketAlreadyExists"), (_, "BucketAlreadyOwnedByYou"):
            (kind, advice) = (.bucketAlreadyExists, "Use the existing bucket, or choose another name.")
        case (_, "RequestTimeTooSkewed"):
            (kind, advice) = (.accessDenied, "This server's clock is more than 15 minutes off the store's: synchronise it (NTP).")
        case (_, "SignatureDoesNotMatch"):
            (kind, advice) = (.accessDenied, "Check the region's secret access key and its signingRegion.")
        case (_, "InvalidAccessKeyId"):
            (kind, advice) = (.accessDenied, "Check the region's access key id.")
        case (_, "ExpiredToken"), (_, "InvalidToken"), (_, "TokenRefreshRequired"):
            (kind, advice) = (.accessDenied, "The session token is expired or invalid: renew the region's credentials.")
        case (403, _), (_, "AccessDenied"), (_, "AllAccessDisabled"), (_, "AccountProblem"):
            (kind, advice) = (.accessDenied, "Check that the region's credentials may use this bucket (key permissions, bucket policy).")
        case (301, _), (307, _), (_, "PermanentRedirect"), (_, "AuthorizationHeaderMalformed"), (_, "IllegalLocationConstraintException"):
            (kind, advice) = (.rejected, "The bucket lives in another region: fix the region's endpoint and signingRegion.")
        case (500..<600, _), (408, _), (429, _):
            (kind, advice) = (.unavailable, "The store keeps failing; delivery retries later.")
        default:
            (kind, advice) = (.rejected, "")
        }
        var detail = "HTTP \(response.status)"
        if !code.isEmpty { detail = "S3 \(code) (\(detail))" }
        if let message = error?.message, !message.isEmpty { detail += ": \(message)" }
        if response.attempts > 1 { detail += " after \(response.attempts) attempts" }
        var text = "\(endpoint): could not \(operation): \(detail)."
        if !advice.isEmpty { text += " " + advice }
        if let requestId = error?.requestId, !requestId.isEmpty { text += " (request id \(requestId))" }
        return ObjectStoreError(kind, redact(text))
    }

    /// Removes any credential that a store might echo back.
    private func redact(_ text: String) -> String {
        var text = text
        for secret in [credentials.secretAccessKey, credentials.sessionToken ?? "", credentials.accessKeyId] where secret.count >= 4 {
            text = text.replacingOccurrences(of: secret, with: "<redacted>")
        }
        return text
    }

    private static func describe(_ error: Error) -> String {
        let text: String
        if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            text = "timed out (\(error))"
        } else {
            text = String(describing: error)
        }
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }

    // MARK: - Validation

    private func checked(_ bucket: String) throws -> String {
        let allowed = bucket.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "_")
        }
        guard !bucket.isEmpty, bucket.utf8.count <= 255, allowed else {
            throw ObjectStoreError(.rejected, "'\(bucket)' is not a valid bucket name: use lower-case letters, digits, '-' and '.'.")
        }
        return bucket
    }

    private func checked(key: String) throws -> String {
        guard !key.isEmpty, key.utf8.count <= 1024 else {
            throw ObjectStoreError(.rejected, "an object key must be 1 to 1024 bytes long")
        }
        return key
    }

    static func parseEndpoint(_ endpoint: String) throws -> (scheme: String, host: String, port: Int?) {
        let invalid = ObjectStoreError(.rejected, "the S3 endpoint \(endpoint.contains("@") ? "" : "'\(endpoint)' ")is not a URL like https://cos.ap-guangzhou.myqcloud.com or http://127.0.0.1:9000 (scheme, host and optional port only)")
        guard let url = URLComponents(string: endpoint), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              var host = url.host, !host.isEmpty, url.user == nil, url.password == nil, url.query == nil, url.fragment == nil,
              url.path.isEmpty || url.path == "/"
        else { throw invalid }
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }  // IPv6 literal
        let defaultPort = scheme == "https" ? 443 : 80
        return (scheme, host.lowercased(), url.port.flatMap { $0 == defaultPort ? nil : $0 })
    }

    static func escapeXML(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}

// MARK: - HTTP client

extension S3ObjectStore {
    /// The client used when none is given. Unlike `HTTPClient.shared` it does not follow redirects (a
    /// redirected signed request would carry a stale `Host`), never decompresses answers (an object
    /// reads back byte for byte), and fails a connection attempt at once (10 s connect timeout) instead
    /// of retrying it until the request's deadline, so ``RetryPolicy`` is the only retry layer. It
    /// lives as long as the process and is never shut down.
    public static let defaultHTTPClient: HTTPClient = deliveryHTTPClient
}

/// The one HTTP client of object stores and webhooks (see ``S3ObjectStore/defaultHTTPClient``).
let deliveryHTTPClient: HTTPClient = {
    var configuration = HTTPClient.Configuration(
        redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(60)), decompression: .disabled)
    configuration.connectionPool.retryConnectionEstablishment = false
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
}()

// MARK: - Wire types

/// One S3 call before signing.
struct S3Request {
    var method: HTTPMethod
    var bucket: String
    var key: String?
    /// Decoded query items; a value-less one (`uploads`) has value "".
    var query: [(name: String, value: String)] = []
    var body: ArraySlice<UInt8> = []
    var contentType: String?
    /// nil: 30 s plus 1 s per 256 KiB of body.
    var timeout: TimeAmount?
    var responseLimit = 16 << 20
    /// The call can answer 200 with an `<Error>` body (CompleteMultipartUpload).
    var errorMayComeWith200 = false

    init(method: HTTPMethod, bucket: String, key: String? = nil, query: [(name: String, value: String)] = [], body: ArraySlice<UInt8> = []) {
        self.method = method
        self.bucket = bucket
        self.key = key
        self.query = query
        self.body = body
    }
}

struct S3Response {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]
    var attempts = 1
}

/// `<Error><Code>…</Code><Message>…</Message><RequestId>…</RequestId></Error>`.
struct S3ErrorBody {
    var code: String?
    var message: String?
    var requestId: String?

    init?(_ bytes: [UInt8]) {
        guard let document = S3XMLDocument(bytes), document.root == "Error" else { return nil }
        code = document.value("Error/Code")
        message = document.value("Error/Message")
        requestId = document.value("Error/RequestId")
    }
}

/// The text of the leaf elements of a small XML answer, by path (`ListBucketResult/Contents/Key`),
/// in document order, with entities and CDATA decoded.
struct S3XMLDocument {
    private(set) var root = ""
    private(set) var leaves: [(path: String, text: String)] = []

    /// nil when `bytes` is empty or not well-formed XML.
    init?(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return nil }
        let collector = Collector()
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = collector
        guard parser.parse() else { return nil }
        root = collector.root
        leaves = collector.leaves
    }

    func values(_ path: String) -> [String] {
        leaves.filter { $0.path == path }.map(\.text)
    }

    func value(_ path: String) -> String? {
        leaves.first { $0.path == path }?.text
    }

    private final class Collector: NSObject, XMLParserDelegate {
        var root = ""
        var leaves: [(path: String, text: String)] = []
        private var path: [String] = []
        private var hasChildren: [Bool] = []
        private var text = ""

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName: String?, attributes: [String: String] = [:]) {
            if path.isEmpty { root = elementName }
            if !hasChildren.isEmpty { hasChildren[hasChildren.count - 1] = true }
            path.append(elementName)
            hasChildren.append(false)
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            text += string
        }

        func parser(_ parser: XMLParser, foundCDATA block: Data) {
            text += String(decoding: block, as: UTF8.self)
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            if hasChildren.last == false { leaves.append((path.joined(separator: "/"), text)) }
            path.removeLast()
            hasChildren.removeLast()
            text = ""
        }
    }
}
