import AuditConfiguration
import Foundation
import XCTest

final class LocalFileTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ca-files-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ name: String, _ bytes: [UInt8], mode: Int) throws -> String {
        let path = dir + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: mode])
        return path
    }

    func testReadsUpToItsLimitAndRefusesMore() throws {
        let path = try write("f", Array(repeating: 0x61, count: 100), mode: 0o644)
        XCTAssertEqual(try LocalFile.read(path, limit: 100, what: "the file")?.count, 100)
        XCTAssertThrowsError(try LocalFile.read(path, limit: 99, what: "the file")) { error in
            XCTAssertTrue("\(error)".contains("larger than 99 bytes"), "\(error)")
        }
        XCTAssertNil(try LocalFile.read(dir + "/missing", limit: 10, what: "the file"))
    }

    func testRefusesWhatIsNotARegularFileWithoutWaitingOnIt() throws {
        XCTAssertThrowsError(try LocalFile.read(dir, limit: 10, what: "the regions file")) { error in
            XCTAssertTrue("\(error)".contains("not a regular file"), "\(error)")
        }
        // Opening a FIFO for reading would wait for a writer: it must be refused before.
        let fifo = dir + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertThrowsError(try LocalFile.read(fifo, limit: 10, what: "the keyring")) { error in
            XCTAssertTrue("\(error)".contains("not a regular file"), "\(error)")
        }
    }

    func testSecretFilesMustBeOwnerOnly() throws {
        let open = try write("open", Array("secret\n".utf8), mode: 0o644)
        XCTAssertThrowsError(try SecretFile.read(open, what: "--password-file")) { error in
            XCTAssertTrue("\(error)".contains("readable by others (mode 644); chmod 600 it"), "\(error)")
        }
        let closed = try write("closed", Array("secret\n".utf8), mode: 0o600)
        XCTAssertEqual(try SecretFile.read(closed, what: "--password-file"), Array("secret\n".utf8))
        XCTAssertThrowsError(try SecretFile.read(dir + "/missing", what: "--password-file")) { error in
            XCTAssertTrue("\(error)".contains("cannot be read"), "\(error)")
        }
        let big = try write("big", Array(repeating: 0x61, count: SecretFile.maxBytes + 1), mode: 0o600)
        XCTAssertThrowsError(try SecretFile.read(big, what: "--password-file"))
    }
}
