import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure ingest and lookup speed on a fresh data directory.")
    func run() async throws { throw ValidationError("not written yet") }
}
