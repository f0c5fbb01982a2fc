import Foundation
import HTTPTypes
import XCTest

/// The console's page is real files in Sources/AuditConsole/Resources, embedded in the binary
/// (`ConsoleAssets`): each must be served byte for byte, with its type and the security headers, and
/// the page may load nothing that is not served.
extension ConsoleTests {
    static let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/AuditConsole/Resources").standardizedFileURL

    /// Every file of the folder: its path relative to the folder and its bytes.
    static func resourceFiles() throws -> [(path: String, bytes: [UInt8])] {
        let root = resources.path + "/"
        var files: [(path: String, bytes: [UInt8])] = []
        guard let walk = FileManager.default.enumerator(atPath: root) else { throw CocoaError(.fileNoSuchFile) }
        while let relative = walk.nextObject() as? String {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + relative, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            files.append((relative, Array(try Data(contentsOf: URL(fileURLWithPath: root + relative)))))
        }
        return files.sorted { $0.path < $1.path }
    }

    /// The URL a resource is served at: the page at /console/, the rest under it by path.
    static func url(of path: String) -> String { path == "index.html" ? "/console/" : "/console/" + path }

    func testEveryFileOfTheConsoleIsServedAsItIsOnDisk() async throws {
        let files = try Self.resourceFiles()
        XCTAssertTrue(files.contains { $0.path == "index.html" } && files.contains { $0.path == "assets/app.js" }, "\(files.map(\.path))")
        let types = ["html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"]
        let h = try await Harness.make()
        try await console(h) { b in
            for file in files {
                let url = Self.url(of: file.path)
                let r = try await b.send(.get, url)
                guard r.status == .ok else {
                    XCTFail("\(url) answers \(r.status): add \(file.path) to ConsoleAssets.files")
                    continue
                }
                XCTAssertTrue(Array(r.text.utf8) == file.bytes, "\(url) is not \(file.path) as it is on disk (\(r.text.utf8.count) bytes served)")
                let ext = String(file.path.split(separator: ".").last ?? "")
                XCTAssertNotNil(types[ext], "\(file.path): a kind of file the console does not serve")
                XCTAssertEqual(r.headers[.contentType], types[ext], url)
                XCTAssertEqual(r.headers[.cacheControl], "no-cache", url)
                XCTAssertTrue(r.headers[.contentSecurityPolicy]?.contains("default-src 'self'") ?? false, url)
                XCTAssertEqual(r.headers[HTTPField.Name("X-Content-Type-Options")!], "nosniff", url)
            }
            // The page is only at /console/.
            let twice = try await b.send(.get, "/console/assets/index.html")
            XCTAssertEqual(twice.status, .notFound)
        }
    }

    func testThePageLoadsOnlyServedFilesAndNoInlineCode() async throws {
        let files = try Self.resourceFiles()
        let text = { (path: String) in String(decoding: files.first { $0.path == path }?.bytes ?? [], as: UTF8.self) }
        let page = text("index.html")
        // What the page loads, and what each module imports (relative to assets/).
        var wanted = Set(Self.matches(#"(?:src|href)="/console/(assets/[^"]+)""#, in: page))
        XCTAssertTrue(wanted.contains("assets/app.js") && wanted.contains("assets/app.css"), "\(wanted)")
        XCTAssertTrue(page.contains(#"<script type="module" src="/console/assets/app.js"></script>"#))
        for file in files where file.path.hasSuffix(".js") {
            for imported in Self.matches(#"(?:import|export)[^;]*?from\s+"\./([^"]+)""#, in: text(file.path)) {
                wanted.insert("assets/" + imported)
            }
        }
        XCTAssertGreaterThan(wanted.count, 2)
        // The CSP refuses inline code: the page must not need any.
        XCTAssertEqual(Self.matches(#"(<script(?![^>]*\bsrc=)[^>]*>)"#, in: page), [], "inline script")
        XCTAssertEqual(Self.matches(#"(\sstyle=)"#, in: page), [], "style attribute")
        XCTAssertEqual(Self.matches(#"(\son[a-z]+=)"#, in: page), [], "event handler attribute")
        let h = try await Harness.make()
        try await console(h) { b in
            for path in wanted.sorted() {
                let r = try await b.send(.get, "/console/" + path)
                XCTAssertEqual(r.status, .ok, "the page loads /console/\(path), which is not served")
            }
        }
    }

    static func matches(_ pattern: String, in text: String) -> [String] {
        guard let re = try? NSRegularExpression(pattern: pattern) else { return ["bad pattern \(pattern)"] }
        let ns = text as NSString
        return re.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { ns.substring(with: $0.range(at: 1)) }
    }
}
