import AuditStore
import XCTest

final class BackupManifestTests: XCTestCase {
    let hash = String(repeating: "a", count: 64)
    let root = String(repeating: "0", count: 64)

    func manifest(files: String? = nil, accounts: String? = nil, format: Int = 1) -> [UInt8] {
        let f = files ?? #"[{"Name":"cloudaudit.sqlite","Bytes":4096,"SHA256":"\#(hash)","Secret":true}]"#
        let a = accounts ?? #"[{"AccountId":1,"Events":3,"MerkleRoot":"\#(root)"},{"AccountId":7,"Events":0,"MerkleRoot":"\#(root)"}]"#
        return Array(#"{"Format":\#(format),"CreatedAt":1765000000,"Files":\#(f),"Accounts":\#(a),"NotIncluded":["buckets/"]}"#.utf8)
    }

    func refusal(_ bytes: [UInt8]) -> String? {
        do { _ = try BackupManifest.parse(bytes); return nil } catch let e as BackupManifest.Invalid { return e.description } catch { return "\(error)" }
    }

    func testAWellFormedManifestParses() throws {
        let m = try BackupManifest.parse(manifest())
        XCTAssertEqual(m.Files.map(\.Name), ["cloudaudit.sqlite"])
        XCTAssertEqual(m.Accounts.map(\.AccountId), [1, 7])
    }

    func testEachFlawIsRefusedWithItsReason() {
        let cases: [(String, [UInt8], String)] = [
            ("not JSON", Array("{".utf8), "not a backup manifest"),
            ("deep nesting", Array(String(repeating: "[", count: 100_000).utf8), "not a backup manifest"),
            ("another format", manifest(format: 2), "format 2"),
            ("a path outside the backup", manifest(files: #"[{"Name":"../../etc/passwd","Bytes":1,"SHA256":"\#(hash)","Secret":false}]"#), "../../etc/passwd"),
            ("a file twice", manifest(files: #"[{"Name":"cloudaudit.sqlite","Bytes":1,"SHA256":"\#(hash)","Secret":true},{"Name":"cloudaudit.sqlite","Bytes":1,"SHA256":"\#(hash)","Secret":true}]"#), "twice"),
            ("no store", manifest(files: #"[{"Name":"master.key","Bytes":1,"SHA256":"\#(hash)","Secret":true}]"#), "no cloudaudit.sqlite"),
            ("a short hash", manifest(files: #"[{"Name":"cloudaudit.sqlite","Bytes":1,"SHA256":"abc","Secret":true}]"#), "SHA-256"),
            ("upper-case hash", manifest(files: #"[{"Name":"cloudaudit.sqlite","Bytes":1,"SHA256":"\#(hash.uppercased())","Secret":true}]"#), "SHA-256"),
            ("a negative size", manifest(files: #"[{"Name":"cloudaudit.sqlite","Bytes":-1,"SHA256":"\#(hash)","Secret":true}]"#), "size"),
            ("accounts out of order", manifest(accounts: #"[{"AccountId":7,"Events":0,"MerkleRoot":"\#(root)"},{"AccountId":1,"Events":0,"MerkleRoot":"\#(root)"}]"#), "ascending"),
            ("a bad root", manifest(accounts: #"[{"AccountId":7,"Events":0,"MerkleRoot":"zz"}]"#), "Merkle root"),
            ("a negative count", manifest(accounts: #"[{"AccountId":7,"Events":-4,"MerkleRoot":"\#(root)"}]"#), "event count"),
        ]
        for (what, bytes, words) in cases {
            let said = refusal(bytes)
            XCTAssertNotNil(said, "\(what) accepted")
            XCTAssertTrue(said?.contains(words) == true, "\(what): \(said ?? "")")
        }
    }
}
