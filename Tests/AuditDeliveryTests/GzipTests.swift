import AuditDelivery
@testable import AuditObjectStorage
import Foundation
import XCTest

final class GzipTests: XCTestCase {
    private func jsonLines(count: Int) -> [UInt8] {
        var text = ""
        for i in 0..<count {
            text += #"{"eventVersion":"1.0","eventId":"\#(UUID().uuidString)","eventName":"RunInstances","eventSource":"cvm.tencentcloudapi.com","#
                + #""eventTime":"2024-05-0\#(i % 9 + 1)T12:\#(10 + i % 50):00Z","accountId":"1000\#(i % 7)","userIdentity":{"type":"CAMUser","#
                + #""principalId":"10000\#(i % 13)","userName":"user-\#(i % 13)"},"sourceIPAddress":"10.0.\#(i % 256).\#(i % 199)","#
                + #""resourceType":"cvm","resourceName":"ins-\#(String(i, radix: 16))","actionType":"Write","errorCode":0,"requestId":"\#(UUID().uuidString)"}"#
                + "\n"
        }
        return Array(text.utf8)
    }

    func testRoundTripAndMagic() throws {
        for input in [[], Array("a".utf8), jsonLines(count: 200), (0..<200_000).map { _ in UInt8.random(in: 0...255) }] {
            let compressed = Gzip.compress(input)
            XCTAssertEqual(Array(compressed.prefix(2)), [0x1F, 0x8B])
            XCTAssertEqual(compressed[2], 8, "deflate method")
            XCTAssertEqual(try Gzip.decompress(compressed), input)
        }
    }

    func testLevels() throws {
        let input = jsonLines(count: 1000)
        var sizes: [Int] = []
        for level in [0, 1, 6, 9, -3, 42] {
            let compressed = Gzip.compress(input, level: level)
            XCTAssertEqual(try Gzip.decompress(compressed), input, "level \(level)")
            sizes.append(compressed.count)
        }
        XCTAssertGreaterThan(sizes[0], input.count, "level 0 stores")
        XCTAssertLessThan(sizes[1], input.count / 3)
        XCTAssertLessThanOrEqual(sizes[2], sizes[1])
        XCTAssertEqual(sizes[4], sizes[0], "clamped to 0")
        XCTAssertEqual(sizes[5], sizes[3], "clamped to 9")
    }

    func testStreamingCompressorMatchesTheWholeBuffer() throws {
        let input = jsonLines(count: 3000)
        let compressor = Gzip.Compressor(level: 6)
        var offset = 0
        while offset < input.count {
            let end = min(offset + Int.random(in: 1...70_000), input.count)
            compressor.append(input[offset..<end])
            offset = end
        }
        let streamed = compressor.finish()
        XCTAssertEqual(compressor.finish(), streamed, "finish is idempotent")
        XCTAssertEqual(try Gzip.decompress(streamed), input)
    }

    func testDamagedInputIsRefused() throws {
        let input = jsonLines(count: 300)
        let compressed = Gzip.compress(input)
        XCTAssertThrowsError(try Gzip.decompress([])) { XCTAssertEqual(($0 as? GzipError)?.kind, .truncated) }
        XCTAssertThrowsError(try Gzip.decompress(input)) { XCTAssertEqual(($0 as? GzipError)?.kind, .corrupt) }
        for cut in [1, 4, 8, compressed.count / 2] {
            XCTAssertThrowsError(try Gzip.decompress(Array(compressed.dropLast(cut))), "cut \(cut)") { error in
                XCTAssertEqual((error as? GzipError)?.kind, .truncated, "cut \(cut): \(error)")
            }
        }
        var flipped = compressed
        flipped[flipped.count - 6] ^= 0x01  // inside the CRC-32
        XCTAssertThrowsError(try Gzip.decompress(flipped)) { XCTAssertEqual(($0 as? GzipError)?.kind, .corrupt) }
        XCTAssertThrowsError(try Gzip.decompress(compressed, maxSize: input.count - 1)) {
            XCTAssertEqual(($0 as? GzipError)?.kind, .tooLarge)
        }
        XCTAssertEqual(try Gzip.decompress(compressed, maxSize: input.count), input)
    }

    func testConcatenatedMembers() throws {
        let a = Array("first\n".utf8), b = Array("second\n".utf8)
        XCTAssertEqual(try Gzip.decompress(Gzip.compress(a) + Gzip.compress(b)), a + b)
    }

    /// Interoperability with the reference tool both ways, when `gzip` is installed.
    func testGzipToolReadsAndWritesOurFormat() throws {
        guard let tool = ["/usr/bin/gzip", "/bin/gzip"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("gzip is not installed")
        }
        let input = jsonLines(count: 500)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gzip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let ours = directory.appendingPathComponent("ours.json.gz")
        try Data(Gzip.compress(input)).write(to: ours)
        XCTAssertEqual(Array(try run(tool, ["-dc", ours.path])), input)
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") {
            let script = "import gzip, sys; sys.stdout.buffer.write(gzip.open(sys.argv[1]).read())"
            XCTAssertEqual(Array(try run("/usr/bin/python3", ["-c", script, ours.path])), input, "Python's gzip module")
        }

        let plain = directory.appendingPathComponent("theirs.json")
        try Data(input).write(to: plain)
        let theirs = try run(tool, ["-9c", plain.path])
        XCTAssertEqual(try Gzip.decompress(Array(theirs)), input)
    }

    private func run(_ executable: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return data
    }

    /// Throughput on ~10 MB of JSON lines. Opt-in (`CLOUDAUDIT_BENCH=1`): it only prints figures.
    func testCompressionThroughput() throws {
        guard ProcessInfo.processInfo.environment["CLOUDAUDIT_BENCH"] == "1" else { throw XCTSkip("set CLOUDAUDIT_BENCH=1 to measure") }
        var input: [UInt8] = []
        while input.count < 10_000_000 { input += jsonLines(count: 1000) }  // every line distinct
        let megabytes = Double(input.count) / 1_000_000
        for level in [1, 6, 9] {
            var best = Double.infinity
            var size = 0
            for _ in 0..<3 {
                let start = ContinuousClock.now
                size = Gzip.compress(input, level: level).count
                let elapsed = ContinuousClock.now - start
                best = min(best, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            }
            print(String(format: "gzip level %d: %.1f MB in %.3f s = %.1f MB/s, ratio %.1fx", level, megabytes, best, megabytes / best,
                         Double(input.count) / Double(size)))
        }
        let compressed = Gzip.compress(input)
        let start = ContinuousClock.now
        _ = try Gzip.decompress(compressed)
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(format: "gunzip: %.1f MB/s", megabytes / seconds))
    }
}
