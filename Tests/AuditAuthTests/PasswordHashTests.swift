@testable import AuditAuth
import XCTest

final class PasswordHashTests: XCTestCase {
    func testAHashVerifiesOnlyItsPasswordAndNamesItsParameters() throws {
        let stored = try PasswordHash.make("correct horse battery staple")
        let parts = stored.split(separator: "$").map(String.init)
        XCTAssertEqual(Array(parts.prefix(4)), ["scrypt", "32768", "8", "1"])
        XCTAssertEqual(Data(base64Encoded: parts[4])?.count, 16)
        XCTAssertEqual(Data(base64Encoded: parts[5])?.count, 32)
        XCTAssertTrue(try PasswordHash.verify("correct horse battery staple", against: stored))
        XCTAssertFalse(try PasswordHash.verify("correct horse battery stapl", against: stored))
        XCTAssertFalse(try PasswordHash.verify("", against: stored))
        XCTAssertNotEqual(stored, try PasswordHash.make("correct horse battery staple"), "every hash has its own salt")
    }

    func testTheRFC7914VectorAndMalformedHashes() throws {
        // RFC 7914 section 12, the second vector: P="password", S="NaCl", N=1024, r=8, p=16 (first 32 of 64 bytes).
        let derived = try PasswordHash.derive("password", salt: Array("NaCl".utf8), n: 1024, r: 8, p: 16)
        XCTAssertEqual(derived.map { String(format: "%02x", $0) }.joined(), "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162")
        let stored = "scrypt$1024$8$16$\(Data("NaCl".utf8).base64EncodedString())$\(Data(derived).base64EncodedString())"
        XCTAssertTrue(try PasswordHash.verify("password", against: stored))
        for bad in ["", "scrypt$1024$8$16$abc", "bcrypt$1024$8$16$TmFDbA==$AAAA", "scrypt$1000$8$16$TmFDbA==$\(Data(derived).base64EncodedString())",
                    "scrypt$4194304$8$1$TmFDbA==$\(Data(derived).base64EncodedString())", "scrypt$1024$8$16$TmFDbA==$AAAA"] {
            XCTAssertThrowsError(try PasswordHash.verify("password", against: bad), bad)
        }
    }
}
