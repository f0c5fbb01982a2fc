import AuditConfiguration
import XCTest

final class ConfigurationTests: XCTestCase {
    let options: [ConfigOption] = [
        ConfigOption("port", environment: "T_PORT", kind: .integer(0...65535), default: "9780", help: "p"),
        ConfigOption("rate", environment: "T_RATE", kind: .number(0.5...10), default: "5", help: "r"),
        ConfigOption("wait", kind: .seconds(1...60), default: "30", help: "w"),
        ConfigOption("level", kind: .choice(["info", "debug"]), default: "info", help: "l"),
        ConfigOption("secure", environment: "T_SECURE", kind: .toggle, default: "false", help: "s"),
        ConfigOption("dir", kind: .text, help: "d"),
        ConfigOption("key", environment: "T_KEY", kind: .text, secret: true, help: "k"),
    ]

    func file(_ text: String, ownerOnly: Bool = true) throws -> ConfigFile {
        try ConfigFile.parse(Array(text.utf8), path: "t.conf", ownerOnly: ownerOnly)
    }

    func error(_ body: () throws -> Void) -> String {
        do { try body() } catch let e as ConfigurationError { return e.description } catch { return "unexpected \(error)" }
        return "no error"
    }

    func testFlagsWinOverTheEnvironmentWhichWinsOverTheFileWhichWinsOverTheDefault() throws {
        let f = try file("port = 1\nrate = 2\nwait = 3\n")
        let c = try Configuration.resolve(options, flags: ["port": "10"], environment: ["T_PORT": "20", "T_RATE": "7.5"], file: f)
        XCTAssertEqual(c.int("port"), 10)
        XCTAssertEqual(c.setting("port")?.source, .flag)
        XCTAssertEqual(c.double("rate"), 7.5)
        XCTAssertEqual(c.setting("rate")?.source, .environment("T_RATE"))
        XCTAssertEqual(c.seconds("wait"), .seconds(3))
        XCTAssertEqual(c.setting("wait")?.source, .file(path: "t.conf", line: 3))
        XCTAssertEqual(c.string("level"), "info")
        XCTAssertEqual(c.setting("level")?.source, .defaultValue)
        XCTAssertNil(c.string("dir"))
        // An empty environment variable is not set.
        XCTAssertEqual(try Configuration.resolve(options, flags: [:], environment: ["T_PORT": ""], file: nil).int("port"), 9780)
    }

    func testEveryKindIsValidatedTheSameWayFromEverySource() throws {
        let bad: [(String, String, String)] = [
            ("port", "65536", "must be a whole number from 0 to 65535"), ("port", "1e3", "whole number"), ("port", "", "whole number"),
            ("rate", "0.1", "must be a number from 0.5 to 10"), ("rate", "nan", "number"), ("rate", "inf", "number"),
            ("wait", "0", "from 1 to 60 seconds"), ("level", "loud", "must be one of info, debug"), ("secure", "maybe", "must be true or false"),
            ("dir", "a\u{1}b", "without control characters"), ("dir", String(repeating: "x", count: 4097), "1 to 4096 bytes"),
        ]
        for (name, value, reason) in bad {
            let fromFlag = error { _ = try Configuration.resolve(options, flags: [name: value], environment: [:], file: nil) }
            let fromFile = error { _ = try Configuration.resolve(options, flags: [:], environment: [:], file: try file("\(name) = \"\(value)\"\n")) }
            XCTAssertTrue(fromFlag.hasPrefix("--\(name) (on the command line): "), fromFlag)
            XCTAssertTrue(fromFile.hasPrefix("--\(name) (from t.conf:1): "), fromFile)
            XCTAssertTrue(fromFlag.contains(reason), fromFlag)
            // The same words after the source.
            func afterSource(_ m: String) -> Substring { m.range(of: "): ").map { m[$0.upperBound...] } ?? "" }
            XCTAssertEqual(afterSource(fromFlag), afterSource(fromFile))
        }
        let c = try Configuration.resolve(options, flags: ["secure": "yes", "level": "debug"], environment: [:], file: nil)
        XCTAssertTrue(c.bool("secure"))
        XCTAssertEqual(c.string("secure"), "true", "normalized")
        XCTAssertEqual(c.string("level"), "debug")
    }

    func testSecretsAreNeverFlagsNeverPrintedAndOnlyInOwnerOnlyFiles() throws {
        XCTAssertTrue(error { _ = try Configuration.resolve(options, flags: ["key": "s3cr3t"], environment: [:], file: nil) }
            .contains("--key is a secret and is not taken from the command line"))
        XCTAssertEqual(error { _ = try Configuration.resolve(options, flags: [:], environment: [:], file: try file("key = s3cr3t\n", ownerOnly: false)) },
                       "t.conf holds a secret but its group or others may read it; chmod 600 it")
        let c = try Configuration.resolve(options, flags: [:], environment: [:], file: try file("key = s3cr3t\n"))
        XCTAssertEqual(c.string("key"), "s3cr3t")
        XCTAssertFalse(c.printed().contains("s3cr3t"))
        XCTAssertTrue(c.printed().contains("key     (set, hidden)  [file (t.conf:1)]"), c.printed())
        let bad = error { _ = try Configuration.resolve(options, flags: [:], environment: ["T_KEY": "s3\u{7F}cr3t"], file: nil) }
        XCTAssertTrue(bad.hasPrefix("--key (from the environment, T_KEY): "), bad)
        XCTAssertFalse(bad.contains("s3"), "a bad secret is not echoed")
    }

    func testTheFileFormat() throws {
        let f = try file("# comment\n\n  port =  8080  \r\ndir = \" spaced \"\nlevel=debug\n")
        XCTAssertEqual(f.entries["port"]?.value, "8080")
        XCTAssertEqual(f.entries["port"]?.line, 3)
        XCTAssertEqual(f.entries["dir"]?.value, " spaced ")
        XCTAssertEqual(f.entries["level"]?.value, "debug")
        XCTAssertEqual(error { _ = try file("port 1\n") }, "t.conf:1: expected `name = value`")
        XCTAssertEqual(error { _ = try file("Port = 1\n") }, "t.conf:1: a setting's name is lower-case letters, digits and -, as its flag without --")
        XCTAssertEqual(error { _ = try file("port = 1\nport = 2\n") }, "t.conf:2: port is set twice (also on line 1)")
        XCTAssertEqual(error { _ = try file(String(repeating: "#", count: 8193)) }, "t.conf:1: the line is longer than 8192 bytes")
        XCTAssertEqual(error { _ = try ConfigFile.parse([0x70, 0xFF], path: "t.conf", ownerOnly: true) }, "t.conf is not UTF-8 text")
        XCTAssertEqual(error { _ = try Configuration.resolve(options, flags: [:], environment: [:], file: try file("\nprot = 1\n")) },
                       "t.conf:2: prot is not a setting (`cloudaudit serve --help` lists them)")
    }

    func testTheCommandLine() throws {
        let own = ["config": true, "print-config": false]
        let parsed = try Configuration.flags(["--port", "1", "--rate=2", "--secure", "--config", "c.conf", "--print-config", "--dir", "--x"],
                                            options: options, own: own)
        XCTAssertEqual(parsed.options, ["port": "1", "rate": "2", "secure": "true", "dir": "--x"])
        XCTAssertEqual(parsed.own, ["config": "c.conf", "print-config": "true"])
        XCTAssertEqual(error { _ = try Configuration.flags(["--port"], options: options) }, "--port needs a value")
        XCTAssertEqual(error { _ = try Configuration.flags(["--port", "1", "--port=2"], options: options) }, "--port is given twice")
        XCTAssertEqual(error { _ = try Configuration.flags(["--nope"], options: options) }, "unknown option --nope (`cloudaudit serve --help` lists them)")
        XCTAssertEqual(error { _ = try Configuration.flags(["port"], options: options) }, "unexpected argument \"port\" (options are --name value)")
        XCTAssertEqual(try Configuration.flags(["--secure=off"], options: options).options, ["secure": "off"])
    }
}
