import AuditModel
import XCTest

final class JSONParserTests: XCTestCase {
    private func parse(_ s: String, file: StaticString = #filePath, line: UInt = #line) -> JSONValue? {
        do { return try JSONParser.parse(Array(s.utf8)) } catch {
            XCTFail("\(s.debugDescription) should parse: \(error)", file: file, line: line)
            return nil
        }
    }

    private func assertRejected(_ bytes: [UInt8], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try JSONParser.parse(bytes), "\(label) should be rejected", file: file, line: line) { error in
            XCTAssertTrue(error is JSONParseError, "\(label): \(type(of: error))", file: file, line: line)
        }
    }

    private func assertRejected(_ s: String, file: StaticString = #filePath, line: UInt = #line) {
        assertRejected(Array(s.utf8), s.debugDescription, file: file, line: line)
    }

    // MARK: valid documents

    func testScalarsAtTopLevel() {
        XCTAssertEqual(parse("null"), .null)
        XCTAssertEqual(parse("true"), .bool(true))
        XCTAssertEqual(parse("false"), .bool(false))
        XCTAssertEqual(parse("0"), .int(0))
        XCTAssertEqual(parse("-0"), .int(0))
        XCTAssertEqual(parse("42"), .int(42))
        XCTAssertEqual(parse("-17"), .int(-17))
        XCTAssertEqual(parse("9223372036854775807"), .int(Int64.max))
        XCTAssertEqual(parse("-9223372036854775808"), .int(Int64.min))
        XCTAssertEqual(parse("9223372036854775808"), .double(9_223_372_036_854_775_808.0), "out of Int64 range falls back to a double")
        XCTAssertEqual(parse("2.5"), .double(2.5))
        XCTAssertEqual(parse("-0.125"), .double(-0.125))
        XCTAssertEqual(parse("1e3"), .double(1000))
        XCTAssertEqual(parse("1E+2"), .double(100))
        XCTAssertEqual(parse("15e-1"), .double(1.5))
        XCTAssertEqual(parse("0.5e1"), .double(5))
        XCTAssertEqual(parse("\"\""), .string(""))
        XCTAssertEqual(parse("\"hello\""), .string("hello"))
        XCTAssertEqual(parse(" \t\r\n 7 \n\t\r "), .int(7), "whitespace around the document")
    }

    func testContainers() {
        XCTAssertEqual(parse("[]"), .array([]))
        XCTAssertEqual(parse("[ ]"), .array([]))
        XCTAssertEqual(parse("{}"), .obj([]))
        XCTAssertEqual(parse("{ \n }"), .obj([]))
        XCTAssertEqual(parse(#"[1, "a", true, false, null, 2.5, [], {}]"#),
                       .array([.int(1), .string("a"), .bool(true), .bool(false), .null, .double(2.5), .array([]), .obj([])]))
        let v = parse(#"{"a": 1, "b": {"c": [true, {"d": null}]}, "e": "x"}"#)
        XCTAssertEqual(v, .obj([("a", 1), ("b", .obj([("c", .array([true, .obj([("d", .null)])]))])), ("e", "x")]))
        XCTAssertEqual(v?["b"]?["c"]?.arrayValue?.count, 2)
        XCTAssertEqual(v?["e"]?.stringValue, "x")
        XCTAssertNil(v?["missing"])
        XCTAssertEqual(v?.objectValue?.fields.map(\.key), ["a", "b", "e"], "key order is kept")
    }

    func testDuplicateKeysKeepAllFieldsAndTheLastWins() {
        let v = parse(#"{"k": 1, "k": 2}"#)
        XCTAssertEqual(v?.objectValue?.fields.count, 2)
        XCTAssertEqual(v?["k"], .int(2))
    }

    func testTypeNames() {
        XCTAssertEqual(JSONValue.null.typeName, "null")
        XCTAssertEqual(JSONValue.bool(true).typeName, "a boolean")
        XCTAssertEqual(JSONValue.int(1).typeName, "a number")
        XCTAssertEqual(JSONValue.double(1).typeName, "a number")
        XCTAssertEqual(JSONValue.string("").typeName, "a string")
        XCTAssertEqual(JSONValue.array([]).typeName, "an array")
        XCTAssertEqual(JSONValue.obj([]).typeName, "an object")
    }

    // MARK: strings and escapes

    func testSimpleEscapes() {
        XCTAssertEqual(parse(#""a\"b\\c\/d\be\ff\ng\rh\ti""#), .string("a\"b\\c/d\u{08}e\u{0C}f\ng\rh\ti"))
    }

    func testUnicodeEscapes() {
        XCTAssertEqual(parse(#""\u0041\u00e9\u00E9\u4e2d""#), .string("Aéé中"))
        XCTAssertEqual(parse(#""\u0000""#), .string("\u{0}"))
        XCTAssertEqual(parse(#""\u001f\u007f""#), .string("\u{1F}\u{7F}"))
        XCTAssertEqual(parse(#""\u672a\u547d\u540d""#), .string("未命名"))
    }

    func testSurrogatePairs() {
        XCTAssertEqual(parse(#""\ud83d\ude00""#), .string("😀"))
        XCTAssertEqual(parse(#""\uD834\uDD1E""#), .string("𝄞"))
        XCTAssertEqual(parse(#""x\uDBFF\uDFFFy""#), .string("x\u{10FFFF}y"))
        XCTAssertEqual(parse(#""\uD800\uDC00""#), .string("\u{10000}"))
    }

    func testRawUTF8IsKept() {
        XCTAssertEqual(parse("\"中文 é 😀\""), .string("中文 é 😀"))
        XCTAssertEqual(parse("\"é\\n😀\""), .string("é\n😀"), "raw UTF-8 mixed with escapes")
        XCTAssertEqual(parse("\"\u{7F}\""), .string("\u{7F}"), "DEL is not a control character for JSON")
    }

    func testLoneSurrogatesAreRejected() {
        assertRejected(#""\ud800""#)
        assertRejected(#""\uDBFF""#)
        assertRejected(#""\udc00""#)
        assertRejected(#""\uDFFF x""#)
        assertRejected(#""\ud800x""#)
        assertRejected(#""\ud800\n""#)
        assertRejected(#""\ud800\u0041""#)
        assertRejected(#""\ud800\ud800""#)
        assertRejected(#""\ude00\ud83d""#)
        assertRejected(#"{"k": "ok", "v": "\ud83d"}"#)
    }

    func testBadEscapesAreRejected() {
        assertRejected(#""\x41""#)
        assertRejected(#""\a""#)
        assertRejected(#""\U0041""#)
        assertRejected(#""\u12""#)
        assertRejected(#""\u12G4""#)
        assertRejected(#""\u""#)
        assertRejected(#""\'""#)
    }

    func testInvalidUTF8IsRejected() {
        let cases: [(String, [UInt8])] = [
            ("lone continuation byte", [0x22, 0x80, 0x22]),
            ("truncated 2-byte sequence", [0x22, 0xC3, 0x22]),
            ("bad continuation", [0x22, 0xC3, 0x28, 0x22]),
            ("overlong slash", [0x22, 0xC0, 0xAF, 0x22]),
            ("overlong 3-byte", [0x22, 0xE0, 0x80, 0xAF, 0x22]),
            ("UTF-8 encoded surrogate", [0x22, 0xED, 0xA0, 0x80, 0x22]),
            ("beyond U+10FFFF", [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]),
            ("0xFF byte", [0x22, 0x61, 0xFF, 0x22]),
            ("0xFE byte", [0x22, 0xFE, 0x22]),
            ("truncated 4-byte", [0x22, 0xF0, 0x9F, 0x98, 0x22]),
            ("invalid with an escape", [0x22, 0x5C, 0x6E, 0xFF, 0x22]),
            ("invalid in a key", Array(#"{""#.utf8) + [0xC3] + Array(#"": 1}"#.utf8)),
            ("invalid nested", Array(#"{"a": ["ok", ""#.utf8) + [0xE2, 0x82] + Array(#""]}"#.utf8)),
            ("invalid outside strings", [0xEF, 0xBB, 0xBF, 0x31]),
            ("lone high byte", [0xC3]),
        ]
        for (label, bytes) in cases { assertRejected(bytes, label) }
    }

    func testControlCharactersInStringsAreRejected() {
        for c in [UInt8](0x00...0x1F) {
            assertRejected([0x22, 0x61, c, 0x62, 0x22], "raw control 0x\(String(c, radix: 16))")
            assertRejected(Array(#"{"k": ""#.utf8) + [c] + Array(#""}"#.utf8), "raw control 0x\(String(c, radix: 16)) in an object")
        }
        assertRejected("\"line\nbreak\"")
        assertRejected("\"tab\there\"")
    }

    // MARK: numbers

    func testLeadingZerosAreRejected() {
        for s in ["01", "00", "-01", "007", "00.5", "-00", "[01]", #"{"a": 012}"#, "0123e4"] { assertRejected(s) }
        XCTAssertEqual(parse("0"), .int(0))
        XCTAssertEqual(parse("0.01"), .double(0.01))
        XCTAssertEqual(parse("[0, 10, 100]"), .array([0, 10, 100]))
    }

    func testMalformedNumbersAreRejected() {
        for s in ["+1", "1.", ".5", "-", "-.5", "1e", "1e+", "1.e3", "0x10", "1_000", "NaN", "Infinity", "-Infinity", "1.5.2", "--1", "1 2"] {
            assertRejected(s)
        }
    }

    // MARK: structure errors

    func testTrailingDataIsRejected() {
        for s in ["{} {}", "[]]", "{}}", "1 2", "null x", "\"a\" \"b\"", "true,", "{\"a\":1},", "[1]\u{0}", "{} //", "[] /* */"] {
            assertRejected(s)
        }
        assertRejected(Array("{}".utf8) + [0x00], "a NUL after the document")
        XCTAssertEqual(parse("{}\n"), .obj([]), "trailing whitespace is fine")
    }

    func testMalformedStructuresAreRejected() {
        for s in ["", " ", "\n", "[1,]", "[,1]", "[1 2]", "{,}", #"{"a" 1}"#, #"{"a":1,}"#, "{1: 2}", "{a: 1}", "{'a': 1}", "'a'",
                  #"{"a":1 "b":2}"#, "tru", "nul", "fals", "True", "NULL", "[true false]", "{\"a\"}", "{\"a\":}", "]", "}", "[}", "{]"] {
            assertRejected(s)
        }
        assertRejected("\u{0C}1")  // form feed is not JSON whitespace
        assertRejected("\u{A0}1")  // nor is NBSP
    }

    func testTruncatedInputIsRejected() {
        let doc = #"{"a": [1, -2.5e3, "x\u00e9\ud83d\ude00y", true, false, null, {"b": {}}], "c": "\\\"", "d": []}"#
        let bytes = Array(doc.utf8)
        XCTAssertNotNil(try? JSONParser.parse(bytes))
        for n in 0..<bytes.count {
            assertRejected(Array(bytes[0..<n]), "the first \(n) bytes")
        }
        for s in ["[", "{", "\"abc", "\"abc\\", "\"abc\\u00", "[1,", #"{"a""#, #"{"a":"#, #"{"a":1"#, "t", "fa", "n", "-", "1e", "[[[]]"] {
            assertRejected(s)
        }
    }

    // MARK: nesting

    func testNestingUpTo64IsAcceptedAndDeeperIsRejected() {
        func arrays(_ n: Int) -> String { String(repeating: "[", count: n) + String(repeating: "]", count: n) }
        func objects(_ n: Int) -> String { String(repeating: #"{"a":"#, count: n - 1) + "{}" + String(repeating: "}", count: n - 1) }
        func mixed(_ n: Int) -> String {
            var open = "", close = ""
            for i in 0..<n {
                if i % 2 == 0 { open += "["; close = "]" + close } else { open += #"{"k":"#; close = "}" + close }
            }
            return open + "1" + close
        }
        XCTAssertNotNil(parse(arrays(64)))
        XCTAssertNotNil(parse(objects(64)))
        XCTAssertNotNil(parse(mixed(64)))
        assertRejected(arrays(65))
        assertRejected(objects(65))
        assertRejected(mixed(65))
        assertRejected(arrays(100_000))  // no stack overflow
        assertRejected(String(repeating: "[", count: 100_000))
        assertRejected(String(repeating: #"{"a":"#, count: 50_000))
        XCTAssertEqual(JSONParser.maxDepth, 64)
    }

    // MARK: byte ranges

    func testObjectRangesSliceTheExactSourceBytes() throws {
        let first = #"{ "eventName" : "A\"}" , "n": {"inner": [ {"deep":1} ]} }"#
        let second = "{\"x\":\"中文😀\",\t\"esc\":\"\\u4e2d\\n\"}"
        let third = "{}"
        let doc = "  {\"Events\":\n [ " + first + " ,\n" + second + "," + third + " ], \"z\": {\"k\": \"}\"}}  "
        let bytes = Array(doc.utf8)
        let root = try JSONParser.parse(bytes)
        guard case .object(let rootObject) = root else { return XCTFail("not an object") }
        XCTAssertEqual(Array(bytes[rootObject.range]), Array(doc.trimmingCharacters(in: .whitespaces).utf8))
        let events = try XCTUnwrap(root["Events"]?.arrayValue)
        XCTAssertEqual(events.count, 3)
        let slices = events.map { e -> String in String(decoding: bytes[e.objectValue!.range], as: UTF8.self) }
        XCTAssertEqual(slices, [first, second, third])
        // Nested objects carry their own ranges.
        let n = try XCTUnwrap(events[0]["n"]?.objectValue)
        XCTAssertEqual(String(decoding: bytes[n.range], as: UTF8.self), #"{"inner": [ {"deep":1} ]}"#)
        let deep = try XCTUnwrap(events[0]["n"]?["inner"]?.arrayValue?.first?.objectValue)
        XCTAssertEqual(String(decoding: bytes[deep.range], as: UTF8.self), #"{"deep":1}"#)
        let z = try XCTUnwrap(root["z"]?.objectValue)
        XCTAssertEqual(String(decoding: bytes[z.range], as: UTF8.self), #"{"k": "}"}"#)
        // Slices parse back to the same value.
        for e in events {
            XCTAssertEqual(try JSONParser.parse(Array(bytes[e.objectValue!.range])), e)
        }
    }

    func testObjectsBuiltInCodeHaveAnEmptyRangeAndCompareByFields() throws {
        let built = JSONValue.obj([("a", 1)])
        XCTAssertEqual(built.objectValue?.range, 0..<0)
        let parsed = try JSONParser.parse(Array(#"   {"a":1}"#.utf8))
        XCTAssertEqual(parsed.objectValue?.range, 3..<10)
        XCTAssertEqual(parsed, built, "equality ignores the byte range")
        XCTAssertNotEqual(try JSONParser.parse(Array(#"{"a":1,"b":2}"#.utf8)), try JSONParser.parse(Array(#"{"b":2,"a":1}"#.utf8)),
                          "equality follows field order")
    }

    func testParseErrorsCarryAnOffset() {
        do {
            _ = try JSONParser.parse(Array(#"{"a": 1} x"#.utf8))
            XCTFail("should throw")
        } catch let e as JSONParseError {
            XCTAssertEqual(e.offset, 9)
            XCTAssertTrue(e.description.contains("9"), e.description)
        } catch { XCTFail("\(error)") }
    }

    // MARK: writer

    func testWriterEscapesStrings() {
        XCTAssertEqual(String(decoding: JSONWriter.encode("a\"b\\c\nd\re\tf\u{0}g\u{1F}h/é😀"), as: UTF8.self),
                       #""a\"b\\c\nd\re\tf\u0000g\u001fh/é😀""#)
        XCTAssertEqual(String(decoding: JSONWriter.encode(.string("\u{08}\u{0C}")), as: UTF8.self), #""\u0008\u000c""#)
    }

    func testWriterOutputsCompactDocuments() {
        let v = JSONValue.obj([("s", "x"), ("i", -3), ("d", .double(2.5)), ("b", true), ("f", false), ("n", .null),
                               ("a", .array([1, .obj([])])), ("o", .obj([("k", .array([]))]))])
        XCTAssertEqual(String(decoding: JSONWriter.encode(v), as: UTF8.self),
                       #"{"s":"x","i":-3,"d":2.5,"b":true,"f":false,"n":null,"a":[1,{}],"o":{"k":[]}}"#)
        XCTAssertEqual(String(decoding: JSONWriter.encode(.double(.nan)), as: UTF8.self), "null")
        XCTAssertEqual(String(decoding: JSONWriter.encode(.double(.infinity)), as: UTF8.self), "null")
    }

    func testWriterRoundTrips() throws {
        var allControls = ""
        for c in 0..<0x20 { allControls.unicodeScalars.append(Unicode.Scalar(UInt8(c))) }
        let values: [JSONValue] = [
            .null, true, false, 0, -1, .int(Int64.max), .int(Int64.min), .double(0.1), .double(-2.5e-7), .double(1e300),
            "", "plain", .string(allControls), "quote\" backslash\\ slash/ del\u{7F}", "中文 é 😀 \u{10FFFF}",
            .array([]), .obj([]),
            .obj([("eventName", "Run"), ("nested", .obj([("list", .array([1, "two", .null, .obj([("x\"y", "\n")])]))])), ("", "empty key")]),
        ]
        for v in values {
            let bytes = JSONWriter.encode(v)
            let back = try JSONParser.parse(bytes)
            XCTAssertEqual(back, v, String(decoding: bytes, as: UTF8.self))
            XCTAssertEqual(JSONWriter.encode(back), bytes, "encoding is stable")
        }
        // Compact documents survive parse -> encode unchanged.
        for doc in [#"{"a":[1,2.5,"x",true,false,null,{}],"b":{"c":"\u0001\"\\"}}"#, "[]", #"[[[["deep"]]]]"#, "\"😀\""] {
            XCTAssertEqual(String(decoding: JSONWriter.encode(try JSONParser.parse(Array(doc.utf8))), as: UTF8.self), doc)
        }
    }

    func testAppendStringAppends() {
        var out = Array("x=".utf8)
        JSONWriter.appendString("v", to: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), #"x="v""#)
    }
}
