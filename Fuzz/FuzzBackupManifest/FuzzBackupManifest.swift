// libFuzzer target: `BackupManifest.parse` (backup.json, read by `cloudaudit restore` from a directory it
// is given). Any bytes must give a checked manifest or `BackupManifest.Invalid`, never a trap; an
// accepted manifest names only files a backup holds, each once, the store among them, with 64-hex-digit
// hashes, and its accounts ascending; written back out, it parses to itself. Built and run by
// scripts/fuzz; seeds in Fuzz/Corpus/FuzzBackupManifest.
import AuditStore
import Foundation
import FuzzHarness

func fuzzBackupManifest(_ input: UnsafeRawBufferPointer) {
    let manifest: BackupManifest
    do { manifest = try BackupManifest.parse(Array(input)) } catch let invalid as BackupManifest.Invalid {
        precondition(!invalid.description.isEmpty && invalid.description.utf8.count < 400, "a short message")
        return
    } catch {
        preconditionFailure("an error that is not Invalid: \(error)")
    }
    let names = manifest.Files.map(\.Name)
    precondition(Set(names).count == names.count && Set(names).isSubset(of: BackupManifest.fileNames) && names.contains("cloudaudit.sqlite"))
    precondition(manifest.Files.allSatisfy { $0.SHA256.utf8.count == 64 && $0.Bytes >= 0 })
    precondition(zip(manifest.Accounts, manifest.Accounts.dropFirst()).allSatisfy { $0.AccountId < $1.AccountId })
    guard let again = try? BackupManifest.parse(Array(JSONEncoder().encode(manifest))) else { preconditionFailure("does not round-trip") }
    precondition(again == manifest, "round-trips to another manifest")
}

@main enum Main: FuzzTarget {
    static func fuzz(_ input: UnsafeRawBufferPointer) { fuzzBackupManifest(input) }
}
