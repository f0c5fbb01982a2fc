import AuditAuth
import AuditSigning
import XCTest

final class TC3SignerTests: XCTestCase {
    /// The published vector of the Tencent Cloud API 3.0 signature documentation.
    func testPublishedVector() {
        let body = #"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#
        let r = TC3Signer.Request(
            method: "POST", signedHeaders: [("content-type", "application/json; charset=utf-8"), ("host", "cvm.tencentcloudapi.com")],
            payloadHash: TC3Signer.hexSHA256(Array(body.utf8)), timestamp: 1_551_113_065, service: "cvm")
        XCTAssertEqual(r.date, "2019-02-25")
        XCTAssertEqual(TC3Signer.signature(r, secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"),
                       "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")
        let auth = TC3Signer.authorization(r, secretId: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE")
        XCTAssertEqual(auth, "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")
        let parsed = TC3Authorization(header: auth)
        XCTAssertEqual(parsed?.secretId, "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE")
        XCTAssertEqual(parsed?.signedHeaders, ["content-type", "host"])
        XCTAssertEqual(parsed?.service, "cvm")
    }

    func testAnyChangeBreaksTheSignature() {
        let base = TC3Signer.Request(method: "POST", signedHeaders: [("content-type", "application/json"), ("host", "h")],
                                     payloadHash: TC3Signer.hexSHA256(Array("{}".utf8)), timestamp: 1_700_000_000, service: "cloudaudit")
        let good = TC3Signer.signature(base, secretKey: "k")
        var m = base; m.timestamp += 1
        XCTAssertNotEqual(TC3Signer.signature(m, secretKey: "k"), good)
        m = base; m.payloadHash = TC3Signer.hexSHA256(Array("{ }".utf8))
        XCTAssertNotEqual(TC3Signer.signature(m, secretKey: "k"), good)
        m = base; m.query = "a=1"
        XCTAssertNotEqual(TC3Signer.signature(m, secretKey: "k"), good)
        XCTAssertNotEqual(TC3Signer.signature(base, secretKey: "K"), good)
    }

    func testMalformedAuthorizationHeaders() {
        for h in ["", "Bearer x", "TC3-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, Signature=" + String(repeating: "a", count: 64),
                  "TC3-HMAC-SHA256 Credential=a/2020-01-01/cloudaudit/tc3_request, SignedHeaders=host, Signature=zz",
                  "TC3-HMAC-SHA256 Credential=a/2020-01-01/cloudaudit/tc3_request, Signature=" + String(repeating: "a", count: 64)] {
            XCTAssertNil(TC3Authorization(header: h), h)
        }
    }

    /// Found with FuzzAuthorization (Fuzz/Corpus/FuzzAuthorization/regression-fullwidth-hex-signature):
    /// `Character.isHexDigit` accepted fullwidth digits and letters, so a 64-character, 192-byte
    /// "hex" signature parsed.
    func testSignatureMustBeASCIIHex() {
        let prefix = "TC3-HMAC-SHA256 Credential=AKIDexample0001/2025-06-15/cloudaudit/tc3_request, SignedHeaders=host, Signature="
        for sig in [String(repeating: "\u{FF41}", count: 64), String(repeating: "\u{FF10}", count: 64), String(repeating: "a", count: 63) + "\u{FF41}",
                    String(repeating: "a", count: 63) + "g", String(repeating: "a", count: 65), String(repeating: "a\u{301}", count: 64)] {
            XCTAssertNil(TC3Authorization(header: prefix + sig), sig)
        }
        XCTAssertEqual(TC3Authorization(header: prefix + String(repeating: "aF09", count: 16))?.signature, String(repeating: "af09", count: 16))
    }

    func testUTCDate() {
        XCTAssertEqual(TC3Signer.utcDate(0), "1970-01-01")
        XCTAssertEqual(TC3Signer.utcDate(951_782_400), "2000-02-29")
        XCTAssertEqual(TC3Signer.utcDate(1_767_225_599), "2025-12-31")
    }

    func testSealedSecretsOpenOnlyWithTheirKeyAndId() throws {
        let sealer = try SecretSealer(masterKey: CredentialGenerator.masterKey())
        let sealed = try sealer.seal("s3cret", secretId: "AKID1")
        XCTAssertEqual(try sealer.open(sealed, secretId: "AKID1"), "s3cret")
        XCTAssertThrowsError(try sealer.open(sealed, secretId: "AKID2"))
        XCTAssertThrowsError(try SecretSealer(masterKey: CredentialGenerator.masterKey()).open(sealed, secretId: "AKID1"))
        XCTAssertFalse(String(decoding: sealed, as: UTF8.self).contains("s3cret"))
        XCTAssertEqual(try CredentialGenerator.parseMasterKey(String(repeating: "ab", count: 32)).count, 32)
        XCTAssertThrowsError(try CredentialGenerator.parseMasterKey("short"))
    }
}
