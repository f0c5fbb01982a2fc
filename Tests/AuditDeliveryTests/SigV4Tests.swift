@testable import AuditDelivery
@testable import AuditObjectStorage
import Foundation
import XCTest

/// Published vectors: the AWS SigV4 test suite (service "service", us-east-1, 2015-08-30T12:36:00Z,
/// AKIDEXAMPLE) and the S3 examples of "Authenticating Requests: Using the Authorization Header"
/// (examplebucket, 2013-05-24, AKIAIOSFODNN7EXAMPLE).
final class SigV4Tests: XCTestCase {
    private let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 20150830T123600Z
    private let suiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    private let s3Date = Date(timeIntervalSince1970: 1_369_353_600)  // 20130524T000000Z
    private let s3Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    private func suite(
        _ method: String, _ path: String = "/", query: [(name: String, value: String)] = [],
        headers extra: [(name: String, value: String)] = [], body: String = ""
    ) -> SigV4.Signature {
        let headers = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")] + extra
        return SigV4.sign(
            method: method, path: path, query: query, headers: headers, payloadHash: SigV4.hexSHA256(Array(body.utf8)),
            accessKeyId: "AKIDEXAMPLE", secretAccessKey: suiteSecret, region: "us-east-1", service: "service", date: suiteDate)
    }

    private func suiteAuthorization(_ signedHeaders: String, _ signature: String) -> String {
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=\(signedHeaders), Signature=\(signature)"
    }

    func testGetVanilla() {
        let signed = suite("GET")
        XCTAssertEqual(signed.canonicalRequest, """
            GET
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """)
        XCTAssertEqual(signed.stringToSign, """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
            """)
        XCTAssertEqual(signed.authorization,
                       suiteAuthorization("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"))
    }

    func testGetVanillaQueryOrderKeyCase() {
        let signed = suite("GET", query: [("Param2", "value2"), ("Param1", "value1")])
        XCTAssertTrue(signed.canonicalRequest.contains("\n/\nParam1=value1&Param2=value2\n"))
        XCTAssertEqual(signed.authorization,
                       suiteAuthorization("host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"))
    }

    func testPostXWwwFormUrlencoded() {
        let signed = suite("POST", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "Param1=value1")
        XCTAssertEqual(signed.authorization,
                       suiteAuthorization("content-type;host;x-amz-date", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"))
    }

    func testPostVanillaAndQuery() {
        XCTAssertEqual(suite("POST").signature, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
        XCTAssertEqual(suite("POST", query: [("Param1", "value1")]).signature,
                       "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11")
    }

    func testEncodingVectors() {
        // get-unreserved: nothing to encode in the path.
        XCTAssertEqual(suite("GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz").signature,
                       "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f")
        // get-utf8: a non-ASCII path segment is percent-encoded UTF-8.
        XCTAssertEqual(suite("GET", "/\u{1234}").signature, "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85")
        // get-vanilla-utf8-query
        XCTAssertEqual(suite("GET", query: [("\u{1234}", "bar")]).signature,
                       "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04")
        // get-vanilla-query-unreserved
        let unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        XCTAssertEqual(suite("GET", query: [(unreserved, unreserved)]).signature,
                       "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197")
        // post-vanilla-query-nonunreserved: every reserved character is encoded, '+' and '/' included.
        XCTAssertEqual(suite("POST", query: [("@#$%^", ""), ("+", #"/,?><`";:\|][{}"#)]).signature,
                       "66c82657c86e26fb25238d0e69f011edc4c6df5ae71119d7cb98ed9b87393c1e")
    }

    func testHeaderVectors() {
        // get-header-key-duplicate: repeated names are joined with ',' in order.
        let duplicate = suite("GET", headers: [("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")])
        XCTAssertTrue(duplicate.canonicalRequest.contains("my-header1:value2,value2,value1\n"))
        XCTAssertEqual(duplicate.authorization,
                       suiteAuthorization("host;my-header1;x-amz-date", "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"))
        // get-header-value-trim: values trimmed, inner runs of spaces collapsed.
        let trimmed = suite("GET", headers: [("My-Header1", " value1"), ("My-Header2", "\"a   b   c\"")])
        XCTAssertTrue(trimmed.canonicalRequest.contains("my-header1:value1\nmy-header2:\"a b c\"\n"))
        XCTAssertEqual(trimmed.signature, "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736")
        // post-header-value-case: values keep their case.
        XCTAssertEqual(suite("POST", headers: [("My-Header1", "VALUE1")]).signature,
                       "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d")
        // post-sts-header-before: the session token is a signed header.
        let token = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
        XCTAssertEqual(suite("POST", headers: [("X-Amz-Security-Token", token)]).authorization,
                       suiteAuthorization("host;x-amz-date;x-amz-security-token", "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"))
    }

    // MARK: - S3 examples

    private func s3(_ method: String, _ path: String, query: [(name: String, value: String)] = [],
                    headers extra: [(name: String, value: String)] = [], payloadHash: String = SigV4.emptyPayloadHash) -> SigV4.Signature {
        let headers = [("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"),
                       ("x-amz-content-sha256", payloadHash)] + extra
        return SigV4.sign(
            method: method, path: path, query: query, headers: headers, payloadHash: payloadHash,
            accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: s3Secret, region: "us-east-1", service: "s3", date: s3Date)
    }

    func testS3GetObjectWithRange() {
        let signed = s3("GET", "/test.txt", headers: [("Range", "bytes=0-9")])
        XCTAssertEqual(signed.canonicalRequest, """
            GET
            /test.txt

            host:examplebucket.s3.amazonaws.com
            range:bytes=0-9
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z

            host;range;x-amz-content-sha256;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """)
        XCTAssertTrue(signed.stringToSign.hasSuffix("7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"))
        XCTAssertEqual(signed.authorization, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                       + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                       + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    func testS3PutObjectEncodesTheKeyOnce() {
        let body = Array("Welcome to Amazon S3.".utf8)
        let hash = SigV4.hexSHA256(body)
        XCTAssertEqual(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let signed = s3("PUT", "/test$file.text", headers: [
            ("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ], payloadHash: hash)
        XCTAssertTrue(signed.canonicalRequest.hasPrefix("PUT\n/test%24file.text\n\n"))
        XCTAssertEqual(signed.signedHeaders, "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class")
        XCTAssertEqual(signed.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    func testS3BucketQueries() {
        // GET ?lifecycle: a value-less item is signed as "lifecycle=".
        let lifecycle = s3("GET", "/", query: [("lifecycle", "")])
        XCTAssertTrue(lifecycle.canonicalRequest.hasPrefix("GET\n/\nlifecycle=\n"))
        XCTAssertEqual(lifecycle.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
        XCTAssertEqual(s3("GET", "/", query: [("prefix", "J"), ("max-keys", "2")]).signature,
                       "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    // MARK: - Pieces

    func testEncoding() {
        XCTAssertEqual(SigV4.encode("a b+c/d~e"), "a%20b%2Bc%2Fd~e")
        XCTAssertEqual(SigV4.encode("é"), "%C3%A9")
        XCTAssertEqual(SigV4.encodePath(""), "/")
        XCTAssertEqual(SigV4.encodePath("/bucket/logs/2024 01/a+b.json.gz"), "/bucket/logs/2024%2001/a%2Bb.json.gz")
        XCTAssertEqual(SigV4.encodePath("/b/a//c"), "/b/a//c", "S3 paths are not normalised")
        XCTAssertEqual(SigV4.canonicalQuery([("b", "2"), ("a", "x y"), ("a", "1")]), "a=1&a=x%20y&b=2")
    }

    func testTimestamp() {
        XCTAssertEqual(SigV4.timestamp(suiteDate), "20150830T123600Z")
        XCTAssertEqual(SigV4.timestamp(Date(timeIntervalSince1970: 0)), "19700101T000000Z")
        XCTAssertEqual(SigV4.timestamp(Date(timeIntervalSince1970: 951_782_399.9)), "20000228T235959Z")
        XCTAssertEqual(SigV4.timestamp(Date(timeIntervalSince1970: 951_868_800)), "20000301T000000Z")  // after a leap day
        XCTAssertEqual(SigV4.timestamp(Date(timeIntervalSince1970: -1)), "19691231T235959Z")
    }

    func testCredentialsNeverPrintTheSecret() {
        let credentials = S3Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: suiteSecret, sessionToken: "TOKEN-123456")
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in [credentials.description, credentials.debugDescription, "\(credentials)", String(reflecting: credentials), dumped] {
            XCTAssertTrue(text.contains("AKIDEXAMPLE"), text)
            XCTAssertFalse(text.contains(suiteSecret), text)
            XCTAssertFalse(text.contains("TOKEN-123456"), text)
        }
    }
}
