import XCTest
@testable import AuditModel

final class TextClipTests: XCTestCase {
    func testScalarsCountsUnicodeScalarsNotCharacters() {
        // One Character of 1 + 10,000 scalars: cut to 40 scalars, marked.
        let heavy = "e" + String(repeating: "\u{301}", count: 10_000)
        XCTAssertEqual(heavy.count, 1)
        let cut = TextClip.scalars(heavy, 40)
        XCTAssertEqual(cut.unicodeScalars.count, 41)
        XCTAssertTrue(cut.hasSuffix("…"))
        XCTAssertEqual(TextClip.scalars(String(repeating: "a", count: 40), 40), String(repeating: "a", count: 40))
        XCTAssertEqual(TextClip.scalars(String(repeating: "a", count: 41), 40, marker: "..."), String(repeating: "a", count: 40) + "...")
        XCTAssertEqual(TextClip.scalars("", 0), "")
        XCTAssertEqual(TextClip.scalars("a", 0), "…")
    }

    func testPrintableDropsControlCharactersBeforeCounting() {
        XCTAssertEqual(TextClip.scalars("a\nb\u{7F}c\u{0}", 64, printable: true), "abc")
        XCTAssertEqual(TextClip.scalars(String(repeating: "\n", count: 100) + "xy", 1, printable: true), "x…")
        XCTAssertEqual(TextClip.scalars("a\nb", 64), "a\nb")
    }

    func testUTF8StaysWithinItsBytesAndCutsAtAScalar() {
        XCTAssertEqual(TextClip.utf8("short", 10), "short")
        for n in [3, 4, 5, 7, 64, 1000] {
            for s in [String(repeating: "é", count: 600), String(repeating: "😀", count: 300), "e" + String(repeating: "\u{301}", count: 2000)] {
                let cut = TextClip.utf8(s, n)
                XCTAssertLessThanOrEqual(cut.utf8.count, n, "\(n)")
                XCTAssertTrue(cut.hasSuffix("…"))
                XCTAssertTrue(s.unicodeScalars.starts(with: cut.unicodeScalars.dropLast()))
            }
        }
    }
}
