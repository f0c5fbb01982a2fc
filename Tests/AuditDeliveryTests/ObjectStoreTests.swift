@testable import AuditDelivery
@testable import AuditObjectStorage
import Foundation
import Logging
import NIOHTTP1
import XCTest

// MARK: - Folder store

final class FileSystemObjectStoreTests: XCTestCase {
    private var root = ""

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("fs-store-\(UUID().uuidString)").path
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    func testCreateExistsPutGetListOverwrite() async throws {
        let store = FileSystemObjectStore(root: root + "/buckets")  // the root itself is created on demand
        let exists = try await store.bucketExists("audit")
        XCTAssertFalse(exists)
        try await store.createBucket("audit")
        let existsNow = try await store.bucketExists("audit")
        XCTAssertTrue(existsNow)
        let mode = try FileManager.default.attributesOfItem(atPath: root + "/buckets/audit")[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o700)

        let key = "cloudaudit/2024050112/100_CloudAudit_local_20240501T120000Z_1_1.json.gz"
        try await store.put(bucket: "audit", key: key, body: [1, 2, 3], contentType: "application/gzip")
        let read = try await store.get(bucket: "audit", key: key)
        XCTAssertEqual(read, [1, 2, 3])
        try await store.put(bucket: "audit", key: key, body: [9], contentType: "application/gzip")
        let overwritten = try await store.get(bucket: "audit", key: key)
        XCTAssertEqual(overwritten, [9])
        try await store.put(bucket: "audit", key: "cloudaudit/empty.json", body: [], contentType: "application/json")
        let empty = try await store.get(bucket: "audit", key: "cloudaudit/empty.json")
        XCTAssertEqual(empty, [])
        let missing = try await store.get(bucket: "audit", key: "cloudaudit/nope")
        XCTAssertNil(missing)
        let folder = try await store.get(bucket: "audit", key: "cloudaudit")
        XCTAssertNil(folder, "a folder is not an object")

        for name in ["b", "a b", "a+b", "Z", "é", "a/c", "a/b/d", "ab"] {
            try await store.put(bucket: "audit", key: "p/" + name, body: Array(name.utf8), contentType: "text/plain")
        }
        let all = try await store.list(bucket: "audit", prefix: "")
        XCTAssertEqual(all, ["cloudaudit/2024050112/100_CloudAudit_local_20240501T120000Z_1_1.json.gz", "cloudaudit/empty.json",
                             "p/Z", "p/a b", "p/a+b", "p/a/b/d", "p/a/c", "p/ab", "p/b", "p/é"])
        let underA = try await store.list(bucket: "audit", prefix: "p/a")
        XCTAssertEqual(underA, ["p/a b", "p/a+b", "p/a/b/d", "p/a/c", "p/ab"])
        let underFolder = try await store.list(bucket: "audit", prefix: "p/a/")
        XCTAssertEqual(underFolder, ["p/a/b/d", "p/a/c"])
        let hour = try await store.list(bucket: "audit", prefix: "cloudaudit/2024050112/")
        XCTAssertEqual(hour, [key])
        let none = try await store.list(bucket: "audit", prefix: "zzz/")
        XCTAssertEqual(none, [])

        // Nothing but the objects is left behind: not in the bucket, not in the staging folder.
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: root + "/buckets/audit").filter { $0.contains(".cloudaudit-tmp") }
        XCTAssertEqual(leftovers, [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/buckets/.cloudaudit-tmp"), [])
    }

    /// What a person or a program reading the bucket folder sees while a put is between its write and
    /// its rename: only complete objects. (The temporary file used to sit in the key's folder, where
    /// a folder listing showed it and could read it half-written.)
    func testPutInProgressIsInvisibleInTheBucket() async throws {
        var store = FileSystemObjectStore(root: root)
        try await store.createBucket("b")
        try await store.put(bucket: "b", key: "logs/2024050112/old.json", body: [1], contentType: "application/json")
        let bucket = root + "/b"
        let seen = Observations()
        store.beforeRename = { temporary, target in
            // The put's file is written and flushed, not yet renamed: look at the bucket now.
            let onDisk = (try? FileManager.default.subpathsOfDirectory(atPath: bucket)) ?? ["<unreadable>"]
            let listed = (try? FileSystemObjectStore.keys(bucketPath: bucket, prefix: "")) ?? ["<error>"]
            seen.record(temporary: temporary, target: target, onDisk: onDisk.sorted(), listed: listed,
                        temporaryExists: FileManager.default.fileExists(atPath: temporary))
        }
        let body = [UInt8](repeating: 7, count: 1 << 20)
        try await store.put(bucket: "b", key: "logs/2024050112/new.json", body: body, contentType: "application/json")
        try await store.put(bucket: "b", key: "logs/2024050113/next.json", body: body, contentType: "application/json")

        let all = seen.all
        XCTAssertEqual(all.count, 2)
        for o in all {
            XCTAssertTrue(o.temporaryExists, "the hook runs between write and rename")
            XCTAssertFalse(o.temporary.hasPrefix(bucket + "/"), "a temporary file inside the bucket: \(o.temporary)")
            XCTAssertTrue(o.temporary.hasPrefix(root + "/.cloudaudit-tmp/"), o.temporary)
            XCTAssertFalse(o.onDisk.contains { ($0 as NSString).lastPathComponent.hasPrefix(".") },
                           "the bucket folder shows a temporary file: \(o.onDisk)")
        }
        XCTAssertEqual(all[0].onDisk, ["logs", "logs/2024050112", "logs/2024050112/old.json"])
        XCTAssertEqual(all[0].listed, ["logs/2024050112/old.json"])
        XCTAssertEqual(all[1].listed, ["logs/2024050112/new.json", "logs/2024050112/old.json"])
        let listed = try await store.list(bucket: "b", prefix: "")
        XCTAssertEqual(listed, ["logs/2024050112/new.json", "logs/2024050112/old.json", "logs/2024050113/next.json"])
    }

    /// Puts (new keys and overwrites) racing lists and gets: every listed key reads back complete, and
    /// the bucket folder never holds anything but objects and their folders.
    func testListDuringPutsShowsOnlyCompleteObjects() async throws {
        let store = FileSystemObjectStore(root: root)
        try await store.createBucket("b")
        let bucket = root + "/b"
        // Bodies of 2 MiB, so that each put spends a while between creating its file and renaming it.
        func body(_ i: Int) -> [UInt8] { [UInt8](repeating: UInt8(i % 251), count: 2 << 20 + i) }
        func index(_ key: String) -> Int { Int(key.split(separator: "-").last!)! }
        let writers = 8, rounds = 4
        let writing = Observations()
        let bad = try await withThrowingTaskGroup(of: [String].self) { group in
            for i in 0..<writers {
                group.addTask {
                    for _ in 0..<rounds {
                        try await store.put(bucket: "b", key: "p/\(i % 3)/obj-\(i)", body: body(i), contentType: "application/octet-stream")
                    }
                    writing.record(temporary: "", target: "done", onDisk: [], listed: [], temporaryExists: false)
                    return []
                }
            }
            group.addTask {
                // Look at the bucket for as long as the writers write (and at least a few times).
                var problems: [String] = []
                var looks = 0
                while writing.all.count < writers || looks < 5 {
                    looks += 1
                    let onDisk = (try? FileManager.default.subpathsOfDirectory(atPath: bucket)) ?? []
                    problems += onDisk.filter { ($0 as NSString).lastPathComponent.hasPrefix(".") }
                    // Every listed key is complete (one read per look keeps the looks frequent).
                    if let key = try await store.list(bucket: "b", prefix: "p/").randomElement() {
                        let got = try await store.get(bucket: "b", key: key)
                        if got != body(index(key)) { problems.append("\(key): \(got?.count ?? -1) bytes") }
                    }
                }
                return problems
            }
            var out: [String] = []
            for try await p in group { out += p }
            return out
        }
        XCTAssertEqual(bad, [], "the bucket showed a temporary or half-written object")
        let keys = try await store.list(bucket: "b", prefix: "")
        XCTAssertEqual(keys.count, writers)
    }

    func testStagingFolderIsNoBucketAndItsLeftoversGo() async throws {
        let store = FileSystemObjectStore(root: root)
        await assertThrows(.rejected) { try await store.createBucket(".cloudaudit-tmp") }
        await assertThrows(.rejected) { try await store.put(bucket: ".cloudaudit-tmp", key: "k", body: [1], contentType: "x") }
        await assertThrows(.rejected) { _ = try await store.list(bucket: ".cloudaudit-tmp", prefix: "") }
        try await store.createBucket("b")
        // What a crash left: an old temporary file goes at the first put, a recent one (in flight) stays.
        let staging = root + "/.cloudaudit-tmp"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false)
        XCTAssertTrue(FileManager.default.createFile(atPath: staging + "/.cloudaudit-tmp-old", contents: Data([1])))
        XCTAssertTrue(FileManager.default.createFile(atPath: staging + "/.cloudaudit-tmp-new", contents: Data([2])))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -7200)], ofItemAtPath: staging + "/.cloudaudit-tmp-old")
        try await store.put(bucket: "b", key: "k", body: [3], contentType: "x")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: staging), [".cloudaudit-tmp-new"])
        let keys = try await store.list(bucket: "b", prefix: "")
        XCTAssertEqual(keys, ["k"])
    }

    func testListSkipsTemporaryFiles() async throws {
        let store = FileSystemObjectStore(root: root)
        try await store.createBucket("b")
        try await store.put(bucket: "b", key: "x/done.json", body: [1], contentType: "application/json")
        XCTAssertTrue(FileManager.default.createFile(atPath: root + "/b/x/.cloudaudit-tmp-123", contents: Data([2])))
        let keys = try await store.list(bucket: "b", prefix: "")
        XCTAssertEqual(keys, ["x/done.json"])
    }

    func testCreateTwiceAndMissingBucket() async throws {
        let store = FileSystemObjectStore(root: root)
        try await store.createBucket("b")
        await assertThrows(.bucketAlreadyExists) { try await store.createBucket("b") }
        await assertThrows(.noSuchBucket) { try await store.put(bucket: "gone", key: "k", body: [1], contentType: "x") }
        await assertThrows(.noSuchBucket) { _ = try await store.get(bucket: "gone", key: "k") }
        await assertThrows(.noSuchBucket) { _ = try await store.list(bucket: "gone", prefix: "") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/gone"), "put never creates a bucket")
    }

    func testKeysCannotLeaveTheBucket() async throws {
        let store = FileSystemObjectStore(root: root)
        try await store.createBucket("b")
        for key in ["", "/etc/passwd", "../escape", "a/../../escape", "a/./b", "a//b", "a/", "..", "x/.cloudaudit-tmp-1", "a\0b"] {
            await assertThrows(.rejected, key) { try await store.put(bucket: "b", key: key, body: [1], contentType: "x") }
            await assertThrows(.rejected, key) { _ = try await store.get(bucket: "b", key: key) }
        }
        for bucket in ["", ".", "..", "a/b"] {
            await assertThrows(.rejected, bucket) { try await store.createBucket(bucket) }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/escape"))
    }

    func testKeyAndFolderCollisions() async throws {
        let store = FileSystemObjectStore(root: root)
        try await store.createBucket("b")
        try await store.put(bucket: "b", key: "a/b", body: [1], contentType: "x")
        await assertThrows(.rejected) { try await store.put(bucket: "b", key: "a/b/c", body: [1], contentType: "x") }
        await assertThrows(.rejected) { try await store.put(bucket: "b", key: "a", body: [1], contentType: "x") }
        let kept = try await store.get(bucket: "b", key: "a/b")
        XCTAssertEqual(kept, [1])
    }
}

// MARK: - S3 against a scripted local server

/// The S3 stores of these tests log here.
let testLogger = Logger(label: "s3-test")

final class S3ObjectStoreUnitTests: XCTestCase {
    private let credentials = S3Credentials(accessKeyId: "AKIDTEST1234", secretAccessKey: "SECRET/abcdefghijklmnop", sessionToken: nil)
    private let fastRetry = S3ObjectStore.RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20))

    private func makeStore(_ server: TestHTTPServer, credentials: S3Credentials? = nil) throws -> S3ObjectStore {
        try S3ObjectStore(endpoint: "http://127.0.0.1:\(server.port)", addressing: .path, signingRegion: "us-east-1",
                          credentials: credentials ?? self.credentials, listPageSize: 2, retry: fastRetry, logger: testLogger)
    }

    func testRequestsAreSignedAsSent() async throws {
        let secret = credentials.secretAccessKey
        let server = try await TestHTTPServer.start { request, _ in
            guard Self.verify(request, accessKeyId: "AKIDTEST1234", secret: secret) else {
                return .init(.forbidden, body: "<Error><Code>SignatureDoesNotMatch</Code><Message>mismatch</Message></Error>")
            }
            return request.method == .GET ? .init(.ok, body: "hello") : .init(.ok)
        }
        let store = try makeStore(server)
        let key = "logs/2024 05/a+b&c=d/é~x.json.gz"
        try await store.put(bucket: "bucket-1", key: key, body: Array("payload".utf8), contentType: "application/gzip")
        let read = try await store.get(bucket: "bucket-1", key: key)
        XCTAssertEqual(read, Array("hello".utf8))
        try await server.shutdown()

        let put = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(put.method, .PUT)
        XCTAssertEqual(put.uri, "/bucket-1/logs/2024%2005/a%2Bb%26c%3Dd/%C3%A9~x.json.gz")
        XCTAssertEqual(put.headers["Host"], ["127.0.0.1:\(server.port)"])
        XCTAssertEqual(put.headers["Content-Type"], ["application/gzip"])
        XCTAssertEqual(put.headers["x-amz-content-sha256"], [SigV4.hexSHA256(Array("payload".utf8))])
        XCTAssertEqual(put.body, Array("payload".utf8))
        XCTAssertTrue(put.headers["Authorization"].first?.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDTEST1234/") == true)
    }

    func testRetriesServerErrorsThenSucceeds() async throws {
        let server = try await TestHTTPServer.start { _, index in index < 2 ? .init(.serviceUnavailable) : .init(.ok) }
        let exists = try await makeStore(server).bucketExists("b")
        XCTAssertTrue(exists)
        XCTAssertEqual(server.requests.count, 3)
        try await server.shutdown()
    }

    func testPersistentServerErrorsAreUnavailable() async throws {
        let server = try await TestHTTPServer.start { _, _ in
            .init(.internalServerError, body: "<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>")
        }
        let error = await captureError { try await self.makeStore(server).put(bucket: "b", key: "k", body: [1], contentType: "x") }
        XCTAssertEqual(error?.kind, .unavailable)
        XCTAssertTrue(error?.isTransient == true)
        XCTAssertTrue(error?.message.contains("InternalError") == true, error?.message ?? "")
        XCTAssertEqual(server.requests.count, 3)
        try await server.shutdown()
    }

    func testErrorCodesMapToKinds() async throws {
        let cases: [(HTTPResponseStatus, String, ObjectStoreError.Kind)] = [
            (.forbidden, "SignatureDoesNotMatch", .accessDenied), (.forbidden, "InvalidAccessKeyId", .accessDenied),
            (.forbidden, "AccessDenied", .accessDenied), (.notFound, "NoSuchBucket", .noSuchBucket),
            (.badRequest, "InvalidArgument", .rejected), (.conflict, "BucketAlreadyOwnedByYou", .bucketAlreadyExists),
        ]
        for (status, code, kind) in cases {
            // The store echoes the credentials back: the message must not.
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>\(code)</Code><Message>refused AKIDTEST1234 SECRET/abcdefghijklmnop</Message>"
                + "<StringToSign>AWS4-HMAC-SHA256 x</StringToSign><RequestId>req-1</RequestId></Error>"
            let server = try await TestHTTPServer.start { _, _ in .init(status, body: body) }
            let error = await captureError { try await self.makeStore(server).put(bucket: "b", key: "k", body: [1], contentType: "x") }
            XCTAssertEqual(error?.kind, kind, code)
            let message = error?.message ?? ""
            XCTAssertTrue(message.contains(code) && message.contains("req-1") && message.contains("'k'"), message)
            XCTAssertFalse(message.contains("SECRET/abcdefghijklmnop") || message.contains("AKIDTEST1234"), message)
            XCTAssertFalse(message.contains("AWS4-HMAC-SHA256") || message.contains("Signature="), message)
            XCTAssertEqual(server.requests.count, 1, "4xx is not retried")
            try await server.shutdown()
        }
    }

    func testHeadAndGetStatuses() async throws {
        let server = try await TestHTTPServer.start { request, _ in
            switch (request.method, request.uri) {
            case (.HEAD, "/present"): return .init(.ok)
            case (.HEAD, "/forbidden"): return .init(.forbidden)
            case (.HEAD, _): return .init(.notFound)
            case (.GET, "/present/missing"): return .init(.notFound, body: "<Error><Code>NoSuchKey</Code></Error>")
            default: return .init(.notFound, body: "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>")
            }
        }
        let store = try makeStore(server)
        let present = try await store.bucketExists("present")
        let absent = try await store.bucketExists("absent")
        XCTAssertTrue(present)
        XCTAssertFalse(absent)
        let denied = await captureError { _ = try await store.bucketExists("forbidden") }
        XCTAssertEqual(denied?.kind, .accessDenied)
        let missingKey = try await store.get(bucket: "present", key: "missing")
        XCTAssertNil(missingKey)
        let missingBucket = await captureError { _ = try await store.get(bucket: "absent", key: "k") }
        XCTAssertEqual(missingBucket?.kind, .noSuchBucket)
        try await server.shutdown()
    }

    func testListFollowsContinuationTokensAndDecodesEntities() async throws {
        let server = try await TestHTTPServer.start { request, _ in
            let first = !request.uri.contains("continuation-token")
            let xml = first
                ? "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
                    + "<Contents><Key>p/b&amp;c</Key><Size>1</Size></Contents><Contents><Key>p/&lt;a&gt;</Key></Contents>"
                    + "<IsTruncated>true</IsTruncated><NextContinuationToken>tok/+=</NextContinuationToken></ListBucketResult>"
                : "<ListBucketResult><Contents><Key>p/a b</Key></Contents><IsTruncated>false</IsTruncated></ListBucketResult>"
            return .init(.ok, body: xml)
        }
        let keys = try await makeStore(server).list(bucket: "b", prefix: "p/")
        XCTAssertEqual(keys, ["p/<a>", "p/a b", "p/b&c"])
        let uris = server.requests.map(\.uri)
        XCTAssertEqual(uris.count, 2)
        XCTAssertTrue(uris[0].hasPrefix("/b?list-type=2&max-keys=2&prefix=p%2F"), uris[0])
        XCTAssertTrue(uris[1].hasSuffix("&continuation-token=tok%2F%2B%3D"), uris[1])
        try await server.shutdown()
    }

    func testFailedMultipartUploadIsAborted() async throws {
        let server = try await TestHTTPServer.start { request, _ in
            switch (request.method, request.uri) {
            case (.POST, "/b/k?uploads"):
                return .init(.ok, body: "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>up-1</UploadId></InitiateMultipartUploadResult>")
            case (.PUT, "/b/k?partNumber=1&uploadId=up-1"):
                return .init(.ok, headers: [("ETag", "\"e1\"")])
            case (.PUT, _):
                return .init(.badRequest, body: "<Error><Code>EntityTooSmall</Code><Message>Your proposed upload is smaller than the minimum allowed object size.</Message></Error>")
            case (.DELETE, _):
                return .init(.noContent)
            default:
                return .init(.notImplemented)
            }
        }
        let store = try S3ObjectStore(endpoint: "http://127.0.0.1:\(server.port)", addressing: .path, signingRegion: "us-east-1",
                                      credentials: credentials, multipartThreshold: 8, partSize: 4, retry: fastRetry, logger: testLogger)
        let error = await captureError { try await store.put(bucket: "b", key: "k", body: [UInt8](repeating: 1, count: 10), contentType: "x") }
        XCTAssertEqual(error?.kind, .rejected)
        XCTAssertTrue(error?.message.contains("EntityTooSmall") == true, error?.message ?? "")
        XCTAssertEqual(server.requests.map { "\($0.method.rawValue) \($0.uri)" }, [
            "POST /b/k?uploads", "PUT /b/k?partNumber=1&uploadId=up-1", "PUT /b/k?partNumber=2&uploadId=up-1", "DELETE /b/k?uploadId=up-1",
        ])
        try await server.shutdown()
    }

    func testCompleteMultipartErrorIn200IsRetried() async throws {
        let server = try await TestHTTPServer.start { request, index in
            switch (request.method, request.uri) {
            case (.POST, "/b/k?uploads"):
                return .init(.ok, body: "<InitiateMultipartUploadResult><UploadId>up-2</UploadId></InitiateMultipartUploadResult>")
            case (.PUT, _):
                return .init(.ok, headers: [("ETag", "\"etag-\(index)\"")])
            case (.POST, "/b/k?uploadId=up-2") where index == 3:
                return .init(.ok, body: "<?xml version=\"1.0\"?>\n<Error><Code>InternalError</Code><Message>retry</Message></Error>")
            case (.POST, "/b/k?uploadId=up-2"):
                return .init(.ok, body: "<CompleteMultipartUploadResult><Key>k</Key></CompleteMultipartUploadResult>")
            default:
                return .init(.notImplemented)
            }
        }
        let store = try S3ObjectStore(endpoint: "http://127.0.0.1:\(server.port)", addressing: .path, signingRegion: "us-east-1",
                                      credentials: credentials, multipartThreshold: 8, partSize: 4, retry: fastRetry, logger: testLogger)
        try await store.put(bucket: "b", key: "k", body: [UInt8](repeating: 2, count: 8), contentType: "x")
        let requests = server.requests
        XCTAssertEqual(requests.count, 5)
        XCTAssertEqual(String(decoding: requests[4].body, as: UTF8.self),
                       "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;etag-1&quot;</ETag></Part>"
                       + "<Part><PartNumber>2</PartNumber><ETag>&quot;etag-2&quot;</ETag></Part></CompleteMultipartUpload>")
        try await server.shutdown()
    }

    func testUnreachableEndpointIsUnavailableAfterRetries() async throws {
        let store = try S3ObjectStore(endpoint: "http://127.0.0.1:1", addressing: .path, signingRegion: "us-east-1",
                                      credentials: credentials, retry: fastRetry, logger: testLogger)
        let start = ContinuousClock.now
        let error = await captureError { _ = try await store.bucketExists("b") }
        XCTAssertEqual(error?.kind, .unavailable)
        XCTAssertTrue(error?.message.contains("3 attempts") == true, error?.message ?? "")
        XCTAssertFalse(error?.message.contains(credentials.secretAccessKey) == true)
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(10))
    }

    func testAddressingAndEndpoints() throws {
        let path = try S3ObjectStore(endpoint: "http://127.0.0.1:5055/", addressing: .path, signingRegion: "us-east-1", credentials: credentials, logger: testLogger)
        XCTAssertEqual(path.endpoint, "http://127.0.0.1:5055")
        XCTAssertEqual(path.target(bucket: "b", key: "x/y.json").host, "127.0.0.1:5055")
        XCTAssertEqual(path.target(bucket: "b", key: "x/y.json").path, "/b/x/y.json")
        XCTAssertEqual(path.target(bucket: "b", key: nil).path, "/b")
        let virtual = try S3ObjectStore(endpoint: "https://COS.ap-guangzhou.myqcloud.com:443", signingRegion: "ap-guangzhou", credentials: credentials, logger: testLogger)
        XCTAssertEqual(virtual.addressing, .virtualHost)
        XCTAssertEqual(virtual.endpoint, "https://cos.ap-guangzhou.myqcloud.com")
        XCTAssertEqual(virtual.target(bucket: "audit-1250000000", key: "x/y.json").host, "audit-1250000000.cos.ap-guangzhou.myqcloud.com")
        XCTAssertEqual(virtual.target(bucket: "audit-1250000000", key: "x/y.json").path, "/x/y.json")
        XCTAssertEqual(virtual.target(bucket: "audit-1250000000", key: nil).path, "/")
        XCTAssertEqual(S3ObjectStore.urlQuery([("uploads", "")]), "?uploads")
        XCTAssertEqual(S3ObjectStore.urlQuery([("partNumber", "1"), ("uploadId", "a/b")]), "?partNumber=1&uploadId=a%2Fb")

        for bad in ["", "127.0.0.1:5055", "ftp://host", "http://", "http://host/path", "http://user:pw@host", "http://host?x=1"] {
            XCTAssertThrowsError(try S3ObjectStore(endpoint: bad, signingRegion: "us-east-1", credentials: credentials, logger: testLogger), bad) { error in
                XCTAssertEqual((error as? ObjectStoreError)?.kind, .rejected)
                XCTAssertFalse((error as? ObjectStoreError)?.message.contains("pw@") == true)
            }
        }
    }

    func testRetryPolicyBackoff() {
        let policy = S3ObjectStore.RetryPolicy()
        XCTAssertEqual(policy.maxAttempts, 5)
        XCTAssertEqual(policy.ceiling(afterAttempt: 1), .milliseconds(200))
        XCTAssertEqual(policy.ceiling(afterAttempt: 2), .milliseconds(400))
        XCTAssertEqual(policy.ceiling(afterAttempt: 5), .milliseconds(3200))
        XCTAssertEqual(policy.ceiling(afterAttempt: 6), .seconds(5))
        XCTAssertEqual(policy.ceiling(afterAttempt: 1000), .seconds(5))
        for attempt in 1...8 {
            let delay = policy.delay(afterAttempt: attempt)
            XCTAssertGreaterThanOrEqual(delay, .zero)
            XCTAssertLessThanOrEqual(delay, policy.ceiling(afterAttempt: attempt))
        }
    }

    /// Recomputes the signature of a received request from what went over the wire.
    private static func verify(_ request: TestHTTPServer.Request, accessKeyId: String, secret: String) -> Bool {
        guard let authorization = request.headers["Authorization"].first,
              let stamp = request.headers["x-amz-date"].first,
              let hash = request.headers["x-amz-content-sha256"].first, hash == SigV4.hexSHA256(request.body),
              let signedPart = authorization.components(separatedBy: "SignedHeaders=").last?.components(separatedBy: ",").first
        else { return false }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        guard let date = formatter.date(from: stamp) else { return false }
        let parts = request.uri.split(separator: "?", maxSplits: 1).map(String.init)
        let path = parts[0].removingPercentEncoding ?? ""
        let query: [(name: String, value: String)] = parts.count > 1 ? parts[1].split(separator: "&").map { item in
            let pair = item.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? "" }
            return (pair[0], pair.count > 1 ? pair[1] : "")
        } : []
        let headers = signedPart.split(separator: ";").map { (String($0), request.headers[String($0)].joined(separator: ",")) }
        let expected = SigV4.sign(method: request.method.rawValue, path: path, query: query, headers: headers, payloadHash: hash,
                                  accessKeyId: accessKeyId, secretAccessKey: secret, region: "us-east-1", service: "s3", date: date)
        return expected.authorization == authorization
    }
}

// MARK: - S3 against moto

/// Runs against a real S3 implementation (moto): `CLOUDAUDIT_TEST_S3_ENDPOINT=http://127.0.0.1:5055`.
final class S3ObjectStoreMotoTests: XCTestCase {
    private struct MissingEndpoint: Error {}

    private func endpoint() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let endpoint = environment["CLOUDAUDIT_TEST_S3_ENDPOINT"], !endpoint.isEmpty { return endpoint }
        if environment["CI"] == "true" {
            XCTFail("CLOUDAUDIT_TEST_S3_ENDPOINT must be set in CI")
            throw MissingEndpoint()
        }
        throw XCTSkip("set CLOUDAUDIT_TEST_S3_ENDPOINT (e.g. http://127.0.0.1:5055, a moto server) to run the S3 tests")
    }

    private func makeStore(multipartThreshold: Int = 8 << 20, partSize: Int = 8 << 20, listPageSize: Int = 1000) throws -> S3ObjectStore {
        try S3ObjectStore(
            endpoint: try endpoint(), addressing: .path, signingRegion: "us-east-1",
            credentials: S3Credentials(accessKeyId: "testing", secretAccessKey: "testing-secret"),
            multipartThreshold: multipartThreshold, partSize: partSize, listPageSize: listPageSize,
            retry: .init(maxAttempts: 2, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50)), logger: testLogger)
    }

    private func uniqueBucket() -> String {
        "t-" + (0..<6).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    func testBucketLifecycle() async throws {
        let store = try makeStore()
        let bucket = uniqueBucket()
        let before = try await store.bucketExists(bucket)
        XCTAssertFalse(before)
        try await store.createBucket(bucket)
        let after = try await store.bucketExists(bucket)
        XCTAssertTrue(after)
        await assertThrows(.bucketAlreadyExists) { try await store.createBucket(bucket) }
    }

    func testPutGetSmallObject() async throws {
        let store = try makeStore()
        let bucket = uniqueBucket()
        try await store.createBucket(bucket)
        let key = "cloudaudit/2024050112/100_CloudAudit_ap-guangzhou_20240501T120000Z_1_1.json.gz"
        let body = Gzip.compress(Array("{\"eventId\":\"e1\"}\n".utf8))
        try await store.put(bucket: bucket, key: key, body: body, contentType: "application/gzip")
        let read = try await store.get(bucket: bucket, key: key)
        XCTAssertEqual(read, body)
        try await store.put(bucket: bucket, key: key, body: [1, 2], contentType: "application/gzip")
        let overwritten = try await store.get(bucket: bucket, key: key)
        XCTAssertEqual(overwritten, [1, 2])
        let missing = try await store.get(bucket: bucket, key: "cloudaudit/none")
        XCTAssertNil(missing)
    }

    func testMultipartUpload() async throws {
        let store = try makeStore(multipartThreshold: 5 << 20, partSize: 5 << 20)
        let bucket = uniqueBucket()
        try await store.createBucket(bucket)
        var generator = SystemRandomNumberGenerator()
        let words = (0..<((12 << 20) / 8)).map { _ in generator.next() as UInt64 }
        let body = words.withUnsafeBytes { Array($0) }
        XCTAssertEqual(body.count, 12 << 20)
        try await store.put(bucket: bucket, key: "big/object.bin", body: body, contentType: "application/octet-stream")
        let read = try await store.get(bucket: bucket, key: "big/object.bin")
        XCTAssertEqual(read?.count, body.count)
        XCTAssertTrue(read == body, "multipart object differs")
        let keys = try await store.list(bucket: bucket, prefix: "big/")
        XCTAssertEqual(keys, ["big/object.bin"])
    }

    func testListPagesAndSpecialKeys() async throws {
        let store = try makeStore(listPageSize: 7)
        let bucket = uniqueBucket()
        try await store.createBucket(bucket)
        var expected: [String] = []
        for i in 0..<30 {
            let key = String(format: "logs/%02d/", i % 4) + ["a b", "a+b", "x&y<z>", "é", "plain"][i % 5] + "-\(i).json"
            expected.append(key)
            try await store.put(bucket: bucket, key: key, body: Array(key.utf8), contentType: "application/json")
        }
        try await store.put(bucket: bucket, key: "other/1.json", body: [1], contentType: "application/json")
        let keys = try await store.list(bucket: bucket, prefix: "logs/")
        XCTAssertEqual(keys, expected.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        let one = try await store.get(bucket: bucket, key: expected[2])
        XCTAssertEqual(one, Array(expected[2].utf8))
        let all = try await store.list(bucket: bucket, prefix: "")
        XCTAssertEqual(all.count, 31)
    }

    func testMissingBucket() async throws {
        let store = try makeStore(multipartThreshold: 5 << 20, partSize: 5 << 20)
        let bucket = uniqueBucket()
        await assertThrows(.noSuchBucket) { try await store.put(bucket: bucket, key: "k", body: [1], contentType: "x") }
        await assertThrows(.noSuchBucket) {
            try await store.put(bucket: bucket, key: "k", body: [UInt8](repeating: 7, count: 6 << 20), contentType: "x")
        }
        await assertThrows(.noSuchBucket) { _ = try await store.get(bucket: bucket, key: "k") }
        await assertThrows(.noSuchBucket) { _ = try await store.list(bucket: bucket, prefix: "") }
        let exists = try await store.bucketExists(bucket)
        XCTAssertFalse(exists, "put never creates a bucket")
    }

    func testUnreachableEndpoint() async throws {
        _ = try endpoint()  // same gating as the rest of the class
        let store = try S3ObjectStore(
            endpoint: "http://127.0.0.1:1", addressing: .path, signingRegion: "us-east-1",
            credentials: S3Credentials(accessKeyId: "testing", secretAccessKey: "testing-secret"),
            retry: .init(maxAttempts: 3, baseDelay: .milliseconds(10), maxDelay: .milliseconds(40)), logger: testLogger)
        await assertThrows(.unavailable) { try await store.put(bucket: "b", key: "k", body: [1], contentType: "x") }
    }
}

// MARK: - Helpers

private func captureError(_ body: () async throws -> Void) async -> ObjectStoreError? {
    do {
        try await body()
        return nil
    } catch let error as ObjectStoreError {
        return error
    } catch {
        XCTFail("unexpected error \(error)")
        return nil
    }
}

/// What `FileSystemObjectStore.beforeRename` saw, collected across threads.
private final class Observations: @unchecked Sendable {
    struct Observation {
        var temporary: String
        var target: String
        var onDisk: [String]
        var listed: [String]
        var temporaryExists: Bool
    }

    private let lock = NSLock()
    private var items: [Observation] = []

    func record(temporary: String, target: String, onDisk: [String], listed: [String], temporaryExists: Bool) {
        lock.withLock { items.append(Observation(temporary: temporary, target: target, onDisk: onDisk, listed: listed, temporaryExists: temporaryExists)) }
    }

    var all: [Observation] { lock.withLock { items } }
}

private func assertThrows(_ kind: ObjectStoreError.Kind, _ note: String = "", file: StaticString = #filePath, line: UInt = #line,
                          _ body: () async throws -> Void) async {
    let error = await captureError(body)
    XCTAssertEqual(error?.kind, kind, "\(note) \(error?.message ?? "no error")", file: file, line: line)
}
