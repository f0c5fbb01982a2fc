// The entry point every fuzz target shares: a target is `@main enum Main: FuzzTarget` with its `fuzz`
// (and, when it generates its seeds, `seeds`).
import Foundation
import FuzzSupport

/// A libFuzzer target.
public protocol FuzzTarget {
    /// Checks one input; a trap or a failed precondition is a finding.
    static func fuzz(_ input: UnsafeRawBufferPointer)
    /// The seeds `--write-seeds DIR` writes (named), generated with the project's own code; none by
    /// default (the committed corpus is written by hand).
    static func seeds() -> [(String, [UInt8])]
}

extension FuzzTarget {
    public static func seeds() -> [(String, [UInt8])] { [] }

    /// SwiftPM links `main` to the module's entry point rather than to libFuzzer's own `main`, so this
    /// runs libFuzzer's driver (see Fuzz/FuzzSupport); `--write-seeds DIR` regenerates the target's seeds
    /// of Fuzz/Corpus instead (Fuzz/README.md).
    public static func main() {
        let args = CommandLine.arguments
        if args.count == 3, args[1] == "--write-seeds" {
            for (name, bytes) in seeds() {
                guard FileManager.default.createFile(atPath: args[2] + "/" + name, contents: Data(bytes)) else {
                    fatalError("cannot write \(args[2])/\(name)")
                }
            }
            exit(0)
        }
        FuzzInput.body = fuzz
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, { data, size in testOneInput(data, size) }))
    }
}

/// The target's `fuzz`, set once by `main` before libFuzzer runs (one thread).
enum FuzzInput {
    nonisolated(unsafe) static var body: (UnsafeRawBufferPointer) -> Void = { _ in }
}

/// The input function libFuzzer calls.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzInput.body(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
