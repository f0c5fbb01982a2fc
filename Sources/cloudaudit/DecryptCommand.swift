import ArgumentParser
import AuditDelivery
import AuditIntegrity
import AuditObjectStorage
import AuditServer
import AuditStore
import Foundation
import Logging

/// `cloudaudit decrypt FILE`: reverses the envelope of a delivered `.enc` file with the deployment's keys.
struct DecryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decrypt",
        abstract: "Decrypt a delivered .enc file: writes the file as it would have been delivered unencrypted.",
        discussion: """
            The file names its KMS key; the key is read from the data directory's database and unsealed with
            the deployment master key (CLOUDAUDIT_MASTER_KEY or <data-dir>/master.key), so run it with the
            deployment's --data-dir. The output is the gzip (or the JSON lines) as delivered; --gunzip also
            decompresses it. A disabled key refuses decryption until `cloudaudit kms enable`.
            """)
    @OptionGroup var options: DataDirOptions
    @Argument(help: "The encrypted file (.enc).") var file: String
    @Option(name: [.customShort("o"), .customLong("output")], help: "Write the plaintext to this file (default: standard output).") var output: String?
    @Flag(help: "Also decompress a gzip plaintext (a plain one is written as it is).") var gunzip = false
    @Flag(help: "Replace the -o file when it exists.") var force = false

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure("cannot read \(file)") }
        let bytes = Array(data)
        guard Envelope.isEnvelope(bytes) else {
            throw CommandFailure("\(file) is not an encrypted file (it does not start with CAENC); it can be read as it is")
        }
        _ = try Envelope.header(bytes)
        if let output, !force, FileManager.default.fileExists(atPath: output) {
            throw CommandFailure("\(output) exists; choose another -o file, or add --force to replace it")
        }
        let settings = try options.settings()
        let (storage, masterKey) = try await Deployment(settings).openExisting(logger: Logger(label: "cloudaudit"))
        let result: Result<[UInt8], Error>
        do { result = .success(try await KeyVault(keys: storage.kmsKeys, masterKey: masterKey).decrypt(bytes)) } catch { result = .failure(error) }
        try await storage.close()
        var plain = try result.get()
        if gunzip, plain.starts(with: Gzip.magic) { plain = try Gzip.decompress(plain) }

        if let output {
            if force { unlink(output) }
            try DataDirectory.writeOwnerOnly(output, plain)
        } else {
            if isatty(1) != 0, plain.starts(with: Gzip.magic) {
                throw CommandFailure("the plaintext is gzip; add --gunzip, or write it to a file with -o")
            }
            FileHandle.standardOutput.write(Data(plain))
        }
    }
}
