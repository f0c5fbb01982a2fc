import AuditConfiguration
import XCTest

final class StoreLocationTests: XCTestCase {
    func location(_ text: String) -> StoreLocation? { try? StoreLocation.parse(text).get() }

    func refusal(_ text: String) -> String? {
        if case .failure(let r) = StoreLocation.parse(text) { return r.reason }
        return nil
    }

    func testTheFormsAnOperatorWrites() {
        XCTAssertEqual(location("postgres://audit@db.internal/cloudaudit"),
                       StoreLocation(user: "audit", host: "db.internal", port: 5432, database: "cloudaudit"))
        XCTAssertEqual(location("postgresql://audit@10.0.0.5:6432/ca?sslmode=require"),
                       StoreLocation(user: "audit", host: "10.0.0.5", port: 6432, database: "ca", tlsMode: .require))
        XCTAssertEqual(location("postgres://audit@[2001:db8::5]:5433/ca?sslmode=verify-full&sslrootcert=/etc/cloudaudit/pg%20ca.pem"),
                       StoreLocation(user: "audit", host: "2001:db8::5", port: 5433, database: "ca", tlsMode: .verifyFull,
                                     rootCertificateFile: "/etc/cloudaudit/pg ca.pem"))
    }

    func testTheNormalFormParsesToItselfAndHoldsNoSecret() {
        // (the longest parts, percent-encoded, still fit: a found case, sslrootcert of 340 non-ASCII characters)
        let longPath = "/" + String(repeating: "\u{FFFD}", count: 340)
        for text in ["postgres://a@h/d", "postgres://a.b-c_d@[::1]:1/x.y?sslmode=verify-full&sslrootcert=/a%26b", "postgresql://u@h:65535/d?sslmode=require",
                     StoreLocation(user: "u", host: "h", database: "d", tlsMode: .verifyFull, rootCertificateFile: longPath).description] {
            let l = location(text)!
            XCTAssertEqual(location(l.description), l, text)
        }
    }

    func testPasswordsAreRefusedWithWhereTheyGo() {
        for text in ["postgres://audit:hunter2@db/ca", "postgres://audit:@db/ca", "postgres://audit@db/ca?password=hunter2"] {
            let why = refusal(text)
            XCTAssertTrue(why?.contains("PGPASSWORD") == true && why?.contains("--store-password-file") == true, "\(text): \(why ?? "accepted")")
            XCTAssertFalse(why?.contains("hunter2") == true, "the refusal repeats the password")
        }
    }

    func testEachFlawIsNamed() {
        let cases: [(String, String)] = [
            ("mysql://a@h/d", "must start with postgres://"),
            ("postgres://h/d", "must name the user"),
            ("postgres://a@h", "must name the database"),
            ("postgres://a@h/", "must name a database"),
            ("postgres://a@h:0/d", "port from 1 to 65535"),
            ("postgres://a@h:99999/d", "port from 1 to 65535"),
            ("postgres://a@h:5x/d", "port from 1 to 65535"),
            ("postgres://a@[::1/d", "closing ]"),
            ("postgres://a@[nothost]/d", "not an address"),
            ("postgres://a@-h/d", "must name a host"),
            ("postgres://a@h/d?sslmode=prefer", "use disable, require or verify-full"),
            ("postgres://a@h/d?sslmode=require&sslmode=disable", "twice"),
            ("postgres://a@h/d?application_name=x", "does not take"),
            ("postgres://a@h/d?sslrootcert=/ca.pem", "only sslmode=verify-full"),
            ("postgres://a@h/d?sslmode", "without a value"),
            ("postgres://a b@h/d", "no spaces"),
            ("postgres://a@h/d%ZZ", "must name a database"),
            ("postgres://" + String(repeating: "a", count: 9000) + "@h/d", "at most 8192 bytes"),
            ("postgres://a@h/d?sslmode=verify-full&sslrootcert=/" + String(repeating: "é", count: 600), "longer than 1024 bytes"),
            ("postgres://" + String(repeating: "u", count: 64) + "@h/d", "must name a user"),
        ]
        for (text, words) in cases {
            let why = refusal(text)
            XCTAssertTrue(why?.contains(words) == true, "\(text.prefix(60)): \(why ?? "accepted")")
        }
    }
}
