import ArgumentParser
import AuditDelivery
import AuditStore
import Foundation

struct TracksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tracks", abstract: "Inspect tracking sets.", subcommands: [Status.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delivery status of each tracking set: cursor, lag, last error.",
            discussion: "Reads the database of the data directory; works while the server runs.")
        @OptionGroup var options: DataDirOptions
        @Option(help: "Only this account's tracking sets.") var account: Int64?
        @Option(help: "table or json.") var output: OutputFormat = .table

        enum OutputFormat: String, ExpressibleByArgument { case table, json }

        func run() async throws {
            let (storage, _) = try await options.open()
            let rows: [DeliveryStatus]
            do { rows = try await DeliveryStatus.collect(storage: storage, ownerAccountId: account) } catch {
                try? await storage.close()
                throw error
            }
            try await storage.close()
            if output == .json { return try printJSON(rows) }
            if rows.isEmpty { return print("No tracking sets.") }
            let header = ["TRACK", "ACCOUNT", "NAME", "STATUS", "REGION", "BUCKET/PREFIX", "DELIVERED", "LAST FILE", "LAG", "FILES", "LAST ERROR"]
            let table = rows.map { r in
                [String(r.TrackId), String(r.AccountId), r.Name, r.Status == 1 ? "on" : "stopped", r.Region, "\(r.Bucket)/\(r.Prefix)",
                 "seq \(r.DeliveredSequence)", r.DeliveredAt == 0 ? "-" : Self.time(r.DeliveredAt),
                 "\(r.LagEvents) ev / \(r.LagSeconds) s", String(r.Files), r.LastError ?? "-"]
            }
            let widths = header.indices.map { i in ([header[i]] + table.map { $0[i] }).map(\.count).max() ?? 0 }
            for line in [header] + table {
                print(line.enumerated().map { i, c in i == line.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                    .joined(separator: "  "))
            }
        }

        static func time(_ t: Int64) -> String {
            let f = ISO8601DateFormatter()
            return f.string(from: Date(timeIntervalSince1970: TimeInterval(t)))
        }
    }
}
